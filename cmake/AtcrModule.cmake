# atcr_module(<name> DEPS <targets...>)
# One directory = one static library atcr::<name>, public headers in include/, sources in src/,
# unit tests in tests/*_test.cpp built into one binary atcr_<name>_test registered with CTest.
# GCC 12 reports a false -Wmismatched-new-delete on Asio coroutine frames (awaitable lambdas),
# and at -O3/-Os a false -Wrestrict on std::string concatenation (`"[" + std::to_string(i)`,
# GCC bug 105329) in several files; the latter is off for those configurations only.
set(ATCR_WARNINGS -Wall -Wextra -Werror -Wno-missing-field-initializers -Wno-mismatched-new-delete
    $<$<AND:$<CXX_COMPILER_ID:GNU>,$<CONFIG:Release,MinSizeRel>>:-Wno-restrict>)

function(atcr_module name)
  cmake_parse_arguments(ARG "" "" "DEPS;TEST_DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cpp)
  add_library(atcr_${name} STATIC ${srcs})
  add_library(atcr::${name} ALIAS atcr_${name})
  target_include_directories(atcr_${name}
    PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_compile_options(atcr_${name} PRIVATE ${ATCR_WARNINGS})
  target_link_libraries(atcr_${name} PUBLIC ${ARG_DEPS})
  if(ATCR_BUILD_TESTS)
    file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/tests/*_test.cpp)
    if(tests)
      add_executable(atcr_${name}_test ${tests})
      target_compile_options(atcr_${name}_test PRIVATE ${ATCR_WARNINGS})
      target_include_directories(atcr_${name}_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src
        ${PROJECT_SOURCE_DIR}/tests/support/include)
      target_link_libraries(atcr_${name}_test PRIVATE atcr::${name} ${ARG_TEST_DEPS} GTest::gtest GTest::gtest_main)
      target_compile_definitions(atcr_${name}_test PRIVATE
        ATCR_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
        ATCR_TESTDATA_DIR="${PROJECT_SOURCE_DIR}/testdata"
        ATCR_BINARY_DIR="${CMAKE_BINARY_DIR}")
      add_test(NAME ${name} COMMAND atcr_${name}_test)
      set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 600)
    endif()
  endif()
endfunction()
