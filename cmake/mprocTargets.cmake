# One helper per kind of target. Warnings are errors on our own targets only.
include_guard(GLOBAL)

function(mproc_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # GCC 12 at -O3 reports std::string concatenation as an overlapping memcpy of 2^63 bytes
    # (a false positive, GCC PR 105329): keep -Werror, drop that one check there.
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
  if(MPROC_SANITIZE)
    target_compile_options(${target} PUBLIC -fsanitize=${MPROC_SANITIZE} -fno-omit-frame-pointer
                                            -fno-sanitize-recover=all)
    target_link_options(${target} PUBLIC -fsanitize=${MPROC_SANITIZE})
    if(MPROC_SANITIZE MATCHES "undefined")
      # GCC defines no macro for UBSan; a test that starves UBSan's runtime of fds needs to know.
      target_compile_definitions(${target} PRIVATE MPROC_UBSAN=1)
    endif()
  endif()
endfunction()

# mproc_add_test(NAME SOURCES... [LABELS l...] [TIMEOUT s])
# A GoogleTest binary run by CTest with our watchdog/leak-checking main (tests/support).
function(mproc_add_test name)
  cmake_parse_arguments(arg "" "TIMEOUT" "SOURCES;LABELS" ${ARGN})
  add_executable(${name} ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE mproc::mproc mproc_test_support)
  mproc_target_defaults(${name})
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 120)
  endif()
  # One CTest test per GoogleTest case: parallel runs, and a failure names its case.
  include(GoogleTest)
  gtest_discover_tests(${name} TEST_PREFIX "${name}." DISCOVERY_TIMEOUT 60
                       PROPERTIES TIMEOUT ${arg_TIMEOUT} LABELS "${arg_LABELS}")
endfunction()

# mproc_add_example(NAME SOURCE): every example is also a test, so the README cannot rot.
function(mproc_add_example name source)
  add_executable(${name} ${source})
  target_link_libraries(${name} PRIVATE mproc::mproc)
  mproc_target_defaults(${name})
  if(MPROC_BUILD_TESTS)
    add_test(NAME example.${name} COMMAND ${name})
    set_tests_properties(example.${name} PROPERTIES TIMEOUT 60 LABELS example)
  endif()
endfunction()

# mproc_add_compile_fail_tests(PREFIX SOURCE "case:expect_fail:message" ...)
# Negative compile tests: SOURCE is compiled (syntax only) once per case with -DMPROC_CASE_<case>;
# a case with expect_fail 1 passes only if the compiler fails with `message` in its output, one
# with 0 (a control) only if it compiles, so the failures are not for another reason.
function(mproc_add_compile_fail_tests prefix source)
  foreach(case IN LISTS ARGN)
    string(REPLACE ":" ";" parts "${case}")
    list(GET parts 0 name)
    list(GET parts 1 expect_fail)
    list(SUBLIST parts 2 -1 message_parts)
    list(JOIN message_parts ":" message)
    add_test(NAME ${prefix}.compile.${name}
      COMMAND ${CMAKE_COMMAND}
        -DCOMPILER=${CMAKE_CXX_COMPILER}
        -DSOURCE=${source}
        -DINCLUDE_DIR=${PROJECT_SOURCE_DIR}/include
        -DCASE=${name}
        -DEXPECT_FAIL=${expect_fail}
        "-DEXPECT_MESSAGE=${message}"
        -P ${PROJECT_SOURCE_DIR}/tests/codec/compile_fail/check_compile.cmake)
    set_tests_properties(${prefix}.compile.${name} PROPERTIES TIMEOUT 120 LABELS compile)
  endforeach()
endfunction()
