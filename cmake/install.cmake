# Install rules and the CMake package. After `cmake --install <build> --prefix P`, another
# project finds kiln with
#   find_package(kiln CONFIG REQUIRED)          (CMAKE_PREFIX_PATH=P)
#   target_link_libraries(app PRIVATE kiln::kiln)
# and `#include <kiln/kiln.h>`. The example consumer in examples/consumer/ does exactly that,
# and tests/package/ builds it against a fresh install in every test run.
include(CMakePackageConfigHelpers)

set(KILN_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/kiln)
set(KILN_INSTALL_HEADERDIR ${CMAKE_INSTALL_INCLUDEDIR}/kiln)

# Public headers keep their folder under include/kiln/, so the library's own spelling
# ("ir/node.h", "runtime/...") resolves through the include/kiln directory that kiln::kiln
# carries, and the frontend's <kiln/kiln.h> through include/. The frontend's own helpers
# (frontend/*.h) and the backend folders (runtime/cpu/, codegen/llvm/...) are private;
# tests/package/ checks that every installed header's includes were installed too.
file(GLOB kiln_ir_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/ir/*.h
     ${PROJECT_SOURCE_DIR}/ir/*.def)
file(GLOB kiln_runtime_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/runtime/*.h)
# The driver, its plan cache and the launch profile hold compiled programs (codegen/): the
# backends' business.
list(FILTER kiln_runtime_headers EXCLUDE REGEX "/(plan_cache|driver|kernel_times)\\.h$")
file(GLOB kiln_api_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/frontend/kiln/*.h)
install(FILES ${kiln_ir_headers} DESTINATION ${KILN_INSTALL_HEADERDIR}/ir)
install(FILES ${kiln_runtime_headers} DESTINATION ${KILN_INSTALL_HEADERDIR}/runtime)
# The reference evaluator's interface (runtime/evaluator.h includes it); its op code is private.
install(FILES ${PROJECT_SOURCE_DIR}/ir/eval/evaluator.h DESTINATION ${KILN_INSTALL_HEADERDIR}/ir/eval)
install(FILES ${kiln_api_headers} DESTINATION ${KILN_INSTALL_HEADERDIR})

install(TARGETS kiln EXPORT kilnTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT kilnTargets NAMESPACE kiln:: FILE kilnTargets.cmake
  DESTINATION ${KILN_INSTALL_CMAKEDIR})

# kiln is a static library: its private link dependencies travel in the export as
# $<LINK_ONLY:...>, so kilnConfig.cmake must find each of them again before the targets
# are imported. The list is derived from what kiln actually links, through this table of
# imported target -> find_dependency() arguments; a new dependency missing from the table
# is reported here rather than as a link error in a user's project.
set(kiln_dependency_table
  "Threads::Threads|Threads"
  "spdlog::spdlog|spdlog CONFIG"
  "spdlog::spdlog_header_only|spdlog CONFIG"
  "fmt::fmt|fmt CONFIG"
  "fmt::fmt-header-only|fmt CONFIG"
  "OpenCL::OpenCL|OpenCL"
  "nlohmann_json::nlohmann_json|nlohmann_json CONFIG"
  "ZLIB::ZLIB|ZLIB"
  "onnx_proto|ONNX CONFIG"
  "protobuf::libprotobuf|Protobuf"
  "Eigen3::Eigen|Eigen3 CONFIG"
  "benchmark::benchmark|benchmark CONFIG")
get_target_property(kiln_link_libraries kiln LINK_LIBRARIES)
set(kiln_dependencies "")
foreach(lib IN LISTS kiln_link_libraries)
  # Strip $<LINK_ONLY:...> and similar wrappers to get at the library name.
  string(REGEX REPLACE "^\\$<[A-Z_]+:(.*)>$" "\\1" lib "${lib}")
  set(dependency "")
  if(lib MATCHES "^LLVM")
    # llvm_map_components_to_libnames() gives LLVM's imported target names (LLVMOrcJIT...).
    # LLVM's config runs C compile checks (FindFFI, FindTerminfo), so a C++-only
    # consumer gets C enabled first.
    list(APPEND kiln_dependencies [=[get_property(kiln_languages GLOBAL PROPERTY ENABLED_LANGUAGES)
if(NOT "C" IN_LIST kiln_languages)
  enable_language(C)
endif()]=])
    set(dependency "LLVM ${LLVM_VERSION_MAJOR} CONFIG HINTS \"${LLVM_DIR}\"")
  elseif(lib MATCHES "::" OR lib STREQUAL "onnx_proto")
    foreach(entry IN LISTS kiln_dependency_table)
      string(REPLACE "|" ";" entry "${entry}")
      list(GET entry 0 entry_target)
      list(GET entry 1 entry_arguments)
      if(lib STREQUAL entry_target)
        set(dependency "${entry_arguments}")
      endif()
    endforeach()
    if(NOT dependency)
      string(REGEX REPLACE "::.*" "" guessed "${lib}")
      message(AUTHOR_WARNING "kiln links ${lib}: add it to kiln_dependency_table in "
                             "cmake/install.cmake (guessing find_dependency(${guessed}))")
      set(dependency "${guessed}")
    endif()
  endif()
  if(dependency)
    list(APPEND kiln_dependencies "find_dependency(${dependency})")
  endif()
endforeach()
list(REMOVE_DUPLICATES kiln_dependencies)
list(JOIN kiln_dependencies "\n" KILN_FIND_DEPENDENCIES)

# What was built, for users that want to branch on it (kiln_WITH_LLVM, kiln_WITH_OPENCL):
# read from the KILN_HAS_<BACKEND> definitions that each backend block publishes.
get_target_property(kiln_public_definitions kiln INTERFACE_COMPILE_DEFINITIONS)
foreach(backend LLVM OPENCL)
  set(KILN_PACKAGE_WITH_${backend} OFF)
  if(kiln_public_definitions MATCHES "KILN_HAS_${backend}=1")
    set(KILN_PACKAGE_WITH_${backend} ON)
  endif()
endforeach()

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/kilnConfig.cmake.in
  ${PROJECT_BINARY_DIR}/kilnConfig.cmake
  INSTALL_DESTINATION ${KILN_INSTALL_CMAKEDIR})
# 0.x releases may break the API between minor versions, so only same-minor versions match.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/kilnConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/kilnConfig.cmake ${PROJECT_BINARY_DIR}/kilnConfigVersion.cmake
  DESTINATION ${KILN_INSTALL_CMAKEDIR})
