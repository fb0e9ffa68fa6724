# Runs the tests FILTER of test_opencl under oclgrind with its checks on (out-of-bounds
# accesses, data races, API misuse), and fails on any finding in oclgrind's log, on a
# failing test, or when no test ran on oclgrind's device. Prints how many kernels oclgrind
# checked (the program counts them: KILN_TEST_COUNT_KERNELS).
#   cmake -DOCLGRIND=... -DTEST=... -DLOG=... -DFILTER=... [-DRANDOM_GRAPHS=N] -P run_oclgrind.cmake
#
# oclgrind compiles the kernels without optimization (-cl-opt-disable): its clang turns
# integer abs() into llvm.abs intrinsics at -O1 and up, which its interpreter does not
# know ("Undefined external function: llvm.abs.i8").
file(REMOVE ${LOG})
set(ENV{KILN_CACHE_DIR} off)
set(ENV{KILN_EXPECT_DEVICE} "Oclgrind")
set(ENV{KILN_TEST_COUNT_KERNELS} 1)
if(DEFINED RANDOM_GRAPHS)
  set(ENV{KILN_RANDOM_GRAPHS} ${RANDOM_GRAPHS})
endif()
string(TIMESTAMP start "%s")
execute_process(
  COMMAND ${OCLGRIND} --build-options -cl-opt-disable --check-api --data-races --log ${LOG}
          ${TEST} --gtest_filter=${FILTER}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(TIMESTAMP end "%s")
message("${out}${err}")
set(findings "")
if(EXISTS ${LOG})
  file(READ ${LOG} findings)
endif()
if(NOT findings STREQUAL "")
  message(FATAL_ERROR "oclgrind reported problems:\n${findings}")
endif()
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "test_opencl failed under oclgrind (exit ${rc})")
endif()
if(out MATCHES "SKIPPED" OR NOT out MATCHES "PASSED")
  message(FATAL_ERROR "the oclgrind tests did not run on oclgrind's device")
endif()
if(NOT out MATCHES "kernels compiled: ([0-9]+), launches: ([0-9]+)")
  message(FATAL_ERROR "test_opencl did not count its kernels")
endif()
set(kernels ${CMAKE_MATCH_1})
set(launches ${CMAKE_MATCH_2})
math(EXPR seconds "${end} - ${start}")
if(kernels EQUAL 0)
  message(FATAL_ERROR "no kernel ran under oclgrind")
endif()
message("oclgrind checked ${kernels} kernels in ${launches} launches, without findings, "
        "in ${seconds} s (${FILTER})")
