# Warnings, sanitizers and fuzzing instrumentation for project code only.
add_library(oauthdemo_options INTERFACE)
target_compile_options(oauthdemo_options INTERFACE -Wall -Wextra -Wpedantic)
if(OAUTHDEMO_WERROR)
  target_compile_options(oauthdemo_options INTERFACE -Werror)
endif()

if(OAUTHDEMO_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

if(OAUTHDEMO_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "OAUTHDEMO_FUZZ needs clang++ (libFuzzer)")
  endif()
  # Coverage instrumentation for everything; only fuzz targets link libFuzzer's main.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# Helper: add_oauthdemo_test(name SOURCES...) builds a doctest binary and registers it.
function(add_oauthdemo_test name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE oauthdemo_test_support oauthdemo_options)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES TIMEOUT 300)
endfunction()
