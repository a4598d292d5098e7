# Issue 13: repro editing, determinism, KTAP, OSS-Fuzz build.sh, the fleet
# script and the report pages (docs/fleet.md).

add_test(NAME repro/continue
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/repro_continue.sh $<TARGET_FILE:migrace>
                 ${PROJECT_SOURCE_DIR}/corpus/regressions/flush-tlb-under-ptl.repro)
add_test(NAME explore/check-determinism
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/explore_determinism.sh $<TARGET_FILE:migrace>)
add_test(NAME ktap/corpus-replay
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/ktap_replay.sh $<TARGET_FILE:migrace>
                 ${CMAKE_CURRENT_LIST_DIR}/ktap_check.py ${MIGRACE_REPROS})

# ci/oss-fuzz/build.sh run as OSS-Fuzz would (its variables set by hand),
# each target then runs 2,000 inputs.  Needs clang with libFuzzer.
find_program(MIGRACE_CLANG clang)
find_program(MIGRACE_ZIP zip)
if(MIGRACE_CLANG AND MIGRACE_ZIP)
  add_test(NAME ossfuzz/build-sh
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/ossfuzz_build.sh ${PROJECT_SOURCE_DIR})
  set_tests_properties(ossfuzz/build-sh PROPERTIES TIMEOUT 600)
endif()
