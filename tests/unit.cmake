# Unit tests of the emulated machine: every tests/test_<name>.c is one
# executable (KTAP output, see tests/harness.h) linked with the engine and
# registered as the ctest "unit/<name>".  Included from tests/CMakeLists.txt.

file(GLOB MIGRACE_UNIT_TEST_SRC CONFIGURE_DEPENDS
  ${CMAKE_CURRENT_LIST_DIR}/test_*.c)

foreach(src ${MIGRACE_UNIT_TEST_SRC})
  get_filename_component(stem ${src} NAME_WE)       # test_tlb
  string(REGEX REPLACE "^test_" "" name ${stem})     # tlb
  set(target unit_${name})
  if(NOT TARGET ${target})
    add_executable(${target} ${src})
    target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
    target_link_libraries(${target} PRIVATE migrace_engine)
    add_test(NAME unit/${name} COMMAND ${target})
    set_tests_properties(unit/${name} PROPERTIES TIMEOUT 300 LABELS unit)
  endif()
endforeach()
