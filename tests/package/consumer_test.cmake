# The package test: installs the built kiln into a fresh prefix inside the build directory,
# checks that every installed header's includes resolve inside that prefix, then configures,
# builds and runs examples/consumer against it, the way a user's project would.
#
#   cmake -DKILN_SOURCE_DIR=... -DKILN_BINARY_DIR=... -DKILN_GENERATOR=...
#         [-DKILN_CXX_COMPILER=...] [-DKILN_BUILD_TYPE=...] -P consumer_test.cmake
cmake_minimum_required(VERSION 3.20)

foreach(required KILN_SOURCE_DIR KILN_BINARY_DIR KILN_GENERATOR)
  if(NOT DEFINED ${required})
    message(FATAL_ERROR "consumer_test.cmake: pass -D${required}=...")
  endif()
endforeach()
if(NOT KILN_BUILD_TYPE)
  set(KILN_BUILD_TYPE Release)
endif()

set(work ${KILN_BINARY_DIR}/package-test)
set(prefix ${work}/prefix)
set(consumer_build ${work}/consumer-build)
# Start from nothing each time: a stale prefix could hide a file the install no longer makes.
file(REMOVE_RECURSE ${work})
file(MAKE_DIRECTORY ${work})

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE output
                  ERROR_VARIABLE output)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "package test: ${what} failed (${result}):\n${output}")
  endif()
  set(step_output "${output}" PARENT_SCOPE)
endfunction()

# 1. Install.
run_step("cmake --install" ${CMAKE_COMMAND} --install ${KILN_BINARY_DIR} --prefix ${prefix})
file(GLOB_RECURSE config_files ${prefix}/*/kilnConfig.cmake)
if(NOT config_files)
  message(FATAL_ERROR "package test: the install made no kilnConfig.cmake under ${prefix}")
endif()
list(GET config_files 0 config_file)
get_filename_component(installed_kiln_dir ${config_file} DIRECTORY)
message(STATUS "installed: ${installed_kiln_dir}")

# 2. Every quoted include of an installed header must be installed too, found the way the
# compiler would: next to the header, under include/kiln/ or under include/. A header that
# needs a private one would otherwise only fail in a user's build.
set(include_root ${prefix}/include)
file(GLOB_RECURSE headers ${include_root}/kiln/*.h)
set(missing "")
foreach(header IN LISTS headers)
  file(STRINGS ${header} include_lines REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<]")
  get_filename_component(header_dir ${header} DIRECTORY)
  foreach(line IN LISTS include_lines)
    string(REGEX MATCH "[\"<]([^\">]+)[\">]" _ "${line}")
    set(included "${CMAKE_MATCH_1}")
    # Angle-bracket includes of other libraries (<vector>, <fmt/...>) are not ours; only
    # <kiln/...> is checked.
    if(line MATCHES "<" AND NOT included MATCHES "^kiln/")
      continue()
    endif()
    if(NOT EXISTS ${header_dir}/${included} AND NOT EXISTS ${include_root}/kiln/${included}
       AND NOT EXISTS ${include_root}/${included})
      file(RELATIVE_PATH shown ${include_root} ${header})
      list(APPEND missing "${shown} includes ${included}")
    endif()
  endforeach()
endforeach()
if(missing)
  list(JOIN missing "\n  " missing_text)
  message(FATAL_ERROR "package test: installed headers include files that were not "
                      "installed (add them to cmake/install.cmake):\n  ${missing_text}")
endif()
list(LENGTH headers header_count)
message(STATUS "headers: ${header_count} installed, all includes resolve")

# 3. Configure and build the consumer against the prefix only.
set(configure_args -S ${KILN_SOURCE_DIR}/examples/consumer -B ${consumer_build}
    -G ${KILN_GENERATOR} -DCMAKE_BUILD_TYPE=${KILN_BUILD_TYPE} -DCMAKE_PREFIX_PATH=${prefix})
if(KILN_CXX_COMPILER)
  list(APPEND configure_args -DCMAKE_CXX_COMPILER=${KILN_CXX_COMPILER})
endif()
run_step("configuring examples/consumer" ${CMAKE_COMMAND} ${configure_args})
# It must have found this install, not some other kiln on the system.
file(STRINGS ${consumer_build}/CMakeCache.txt found_dir REGEX "^kiln_DIR:")
string(REGEX REPLACE "^kiln_DIR:[A-Z]+=" "" found_dir "${found_dir}")
file(REAL_PATH "${found_dir}" found_dir)
file(REAL_PATH "${installed_kiln_dir}" expected_dir)
if(NOT found_dir STREQUAL expected_dir)
  message(FATAL_ERROR "package test: the consumer found kiln in '${found_dir}', "
                      "expected '${expected_dir}'")
endif()
run_step("building examples/consumer" ${CMAKE_COMMAND} --build ${consumer_build})

# 4. Run it: it checks its own values and exits non-zero on a mismatch.
file(GLOB consumer_exe ${consumer_build}/kiln_consumer ${consumer_build}/kiln_consumer.exe)
if(NOT consumer_exe)
  message(FATAL_ERROR "package test: no kiln_consumer executable in ${consumer_build}")
endif()
run_step("running kiln_consumer" ${consumer_exe})
message(STATUS "kiln_consumer:\n${step_output}")
message(STATUS "package test passed")
