# Fuzz targets: tests/fuzz/<target>_fuzz.cpp defines LLVMFuzzerTestOneInput, and
# tests/fuzz/<target>/ holds its corpus (docs/testing.md, "Fuzzing").
#
# Normal build: each harness links tests/fuzz/replay_main.cpp into fuzz_replay_<target>, which
# runs the harness over every file of its corpus; the CTest test of the same name fails when a
# file crashes the harness (under the sanitizers of the build) or when the corpus is empty.
#
# -DZTP_FUZZ=ON (clang only): real libFuzzer binaries fuzz_<target> instead, against libraries
# instrumented for coverage; scripts/fuzz.sh configures and runs them.
option(ZTP_FUZZ "Build libFuzzer fuzzers fuzz_<target> (clang only)" OFF)

# Each target and the libraries its harness needs.
set(ztp_fuzz_targets spec webhook http_head chunked manifest unpack)
set(ztp_fuzz_libs_spec ztp_spec)
set(ztp_fuzz_libs_webhook ztp_source)
set(ztp_fuzz_libs_http_head ztp_proxy)
set(ztp_fuzz_libs_chunked ztp_proxy)
set(ztp_fuzz_libs_manifest ztp_artifact)
set(ztp_fuzz_libs_unpack ztp_artifact)

set(ztp_fuzz_dir ${PROJECT_SOURCE_DIR}/tests/fuzz)

if(ZTP_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "ZTP_FUZZ=ON needs clang (libFuzzer), not ${CMAKE_CXX_COMPILER_ID}: "
                        "configure a separate build directory with -DCMAKE_CXX_COMPILER=clang++, "
                        "or run scripts/fuzz.sh, which does")
  endif()
  if(ENABLE_SANITIZERS)
    message(FATAL_ERROR "ZTP_FUZZ=ON brings its own sanitizers; configure without ENABLE_SANITIZERS")
  endif()
  set(ztp_fuzz_sanitizers address,undefined)
  # The libraries the harnesses link (those that exist), instrumented for coverage and checked
  # by the sanitizers.
  foreach(lib ztp_util ztp_sys ztp_spec ztp_source ztp_artifact)
    if(TARGET ${lib})
      target_compile_options(${lib} PRIVATE -fsanitize=fuzzer-no-link,${ztp_fuzz_sanitizers}
                                            -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
    endif()
  endforeach()
  # clang 14 cannot compile the proxy's coroutines under ASan ("Cannot represent a difference
  # across sections"), so the proxy's fuzzers build the one file they exercise instead of
  # linking ztp_proxy.
  set(ztp_fuzz_proxy_sources ${PROJECT_SOURCE_DIR}/src/proxy/http_head.cpp
                             ${PROJECT_SOURCE_DIR}/src/proxy/connection_options.cpp)
  set(ztp_fuzz_proxy_libs ztp_util ${ZTP_BOOST})
  foreach(target http_head chunked)
    set(ztp_fuzz_sources_${target} ${ztp_fuzz_proxy_sources})
    set(ztp_fuzz_libs_${target} ${ztp_fuzz_proxy_libs})
  endforeach()
  foreach(target ${ztp_fuzz_targets})
    add_executable(fuzz_${target} ${ztp_fuzz_dir}/${target}_fuzz.cpp ${ztp_fuzz_sources_${target}})
    target_link_libraries(fuzz_${target} PRIVATE ${ztp_fuzz_libs_${target}})
    target_compile_options(fuzz_${target} PRIVATE -fsanitize=fuzzer,${ztp_fuzz_sanitizers}
                                                  -fno-sanitize-recover=undefined
                                                  -fno-omit-frame-pointer)
    target_link_options(fuzz_${target} PRIVATE -fsanitize=fuzzer,${ztp_fuzz_sanitizers})
    # At the top of the build directory, where scripts/fuzz.sh runs it.
    set_target_properties(fuzz_${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
  endforeach()
else()
  foreach(target ${ztp_fuzz_targets})
    add_executable(fuzz_replay_${target} ${ztp_fuzz_dir}/${target}_fuzz.cpp
                                         ${ztp_fuzz_dir}/replay_main.cpp)
    target_link_libraries(fuzz_replay_${target} PRIVATE ${ztp_fuzz_libs_${target}})
    add_test(NAME fuzz_replay_${target}
             COMMAND fuzz_replay_${target} ${ztp_fuzz_dir}/${target})
    set_tests_properties(fuzz_replay_${target} PROPERTIES LABELS unit TIMEOUT 300)
  endforeach()
endif()
