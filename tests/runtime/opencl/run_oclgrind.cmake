# Runs the OpenCLOclgrind tests of test_opencl under oclgrind with its checks on, and fails
# on any finding in oclgrind's log, on a failing test, or when no test ran.
#   cmake -DOCLGRIND=... -DTEST=... -DLOG=... -P run_oclgrind.cmake
file(REMOVE ${LOG})
set(ENV{KILN_CACHE_DIR} off)
set(ENV{KILN_EXPECT_DEVICE} "Oclgrind")
execute_process(
  COMMAND ${OCLGRIND} --check-api --data-races --log ${LOG}
          ${TEST} --gtest_filter=OpenCLOclgrind.*
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
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
