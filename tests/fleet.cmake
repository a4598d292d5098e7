# Issue 13: repro editing, determinism, KTAP, OSS-Fuzz build.sh, the fleet
# script and the report pages (docs/fleet.md).

add_test(NAME repro/continue
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/repro_continue.sh $<TARGET_FILE:migrace>
                 ${PROJECT_SOURCE_DIR}/corpus/regressions/flush-tlb-under-ptl.repro)
add_test(NAME explore/check-determinism
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/explore_determinism.sh $<TARGET_FILE:migrace>)
add_test(NAME ktap/corpus-replay
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/ktap_replay.sh $<TARGET_FILE:migrace>
                 ${CMAKE_CURRENT_LIST_DIR}/ktap_check.py ${MIGRACE_REPROS}
                 ${MIGRACE_FINDINGS})

# ci/oss-fuzz/build.sh run as OSS-Fuzz would (its variables set by hand),
# each target then runs 2,000 inputs.  Needs clang with libFuzzer.
find_program(MIGRACE_CLANG clang)
find_program(MIGRACE_ZIP zip)
if(MIGRACE_CLANG AND MIGRACE_ZIP)
  add_test(NAME ossfuzz/build-sh
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/ossfuzz_build.sh ${PROJECT_SOURCE_DIR})
  set_tests_properties(ossfuzz/build-sh PROPERTIES TIMEOUT 600)
endif()

# The report pages, rendered by headless Chromium (Debian's chromium).
add_test(NAME fleet/report-pages
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/fleet_pages.sh $<TARGET_FILE:migrace>
                 ${PROJECT_SOURCE_DIR})
set_tests_properties(fleet/report-pages PROPERTIES TIMEOUT 300)

# ci/fleet.sh, 2 AFL++ instances for 20 s with a fix reverted.  The AFL++
# builds are kept in the build tree (rebuilt only when a source changes).
# Not serial: the race it must find is found within a second even on a
# loaded machine.
find_program(MIGRACE_AFL_FUZZ afl-fuzz)
if(MIGRACE_AFL_FUZZ)
  add_test(NAME fleet/smoke
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/fleet_smoke.sh $<TARGET_FILE:migrace>
                   ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR}/fleet)
  set_tests_properties(fleet/smoke PROPERTIES TIMEOUT 900)
endif()
