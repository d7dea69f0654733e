# cmake -DCOMPILER=... -DSOURCE=... -DINCLUDE_DIR=... -DCASE=... -DEXPECT_FAIL=0|1
#       -DEXPECT_MESSAGE=... -P check_compile.cmake
# Compiles SOURCE with -DMPROC_CASE_<CASE> (syntax only). EXPECT_FAIL=1: passes only if the
# compiler fails AND its output contains EXPECT_MESSAGE. EXPECT_FAIL=0: passes only if it compiles.
execute_process(
  COMMAND ${COMPILER} -std=c++20 -fsyntax-only -I${INCLUDE_DIR} -DMPROC_CASE_${CASE} ${SOURCE}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
if(EXPECT_FAIL)
  if(rc EQUAL 0)
    message(FATAL_ERROR "case ${CASE}: compiled, but a non-transferable type must not")
  endif()
  string(FIND "${out}" "${EXPECT_MESSAGE}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "case ${CASE}: failed to compile, but without \"${EXPECT_MESSAGE}\":\n${out}")
  endif()
  message(STATUS "case ${CASE}: rejected at compile time with our message, as it must be")
else()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "case ${CASE} (control): must compile but failed:\n${out}")
  endif()
  message(STATUS "case ${CASE} (control): compiles")
endif()
