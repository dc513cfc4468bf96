# Integration tests: bash suites that drive the real ctldb binary against a
# real PostgreSQL 15 that the fixture starts (ctldb local start, as an
# unprivileged user, TLS on, free port) and tears down afterwards.
add_executable(ctldb_blackhole tests/integration/blackhole.cpp)
add_executable(ctldb_json_tool tests/integration/json_tool.cpp)
target_link_libraries(ctldb_json_tool PRIVATE nlohmann_json::nlohmann_json)

set(CTLDB_IT_STATE ${CMAKE_BINARY_DIR}/it-state.env)
set(CTLDB_IT_ENV
  "CTLDB=$<TARGET_FILE:ctldb>"
  "CTLDB_BLACKHOLE=$<TARGET_FILE:ctldb_blackhole>"
  "CTLDB_JSON_TOOL=$<TARGET_FILE:ctldb_json_tool>"
  "CTLDB_IT_STATE=${CTLDB_IT_STATE}"
  "CTLDB_SOURCE_DIR=${CMAKE_SOURCE_DIR}")

add_test(NAME it_server_start
  COMMAND bash ${CMAKE_SOURCE_DIR}/tests/integration/fixture.sh start)
add_test(NAME it_server_stop
  COMMAND bash ${CMAKE_SOURCE_DIR}/tests/integration/fixture.sh stop)
set_tests_properties(it_server_start PROPERTIES FIXTURES_SETUP pg ENVIRONMENT "${CTLDB_IT_ENV}"
  SKIP_RETURN_CODE 77 TIMEOUT 120)
set_tests_properties(it_server_stop PROPERTIES FIXTURES_CLEANUP pg ENVIRONMENT "${CTLDB_IT_ENV}"
  TIMEOUT 120)

file(GLOB CTLDB_IT_SUITES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/integration/test_*.sh)
foreach(suite ${CTLDB_IT_SUITES})
  get_filename_component(name ${suite} NAME_WE)
  add_test(NAME it_${name} COMMAND bash ${suite})
  set_tests_properties(it_${name} PROPERTIES FIXTURES_REQUIRED pg ENVIRONMENT "${CTLDB_IT_ENV}"
    SKIP_RETURN_CODE 77 TIMEOUT 600)
endforeach()

add_test(NAME portable_binary COMMAND bash ${CMAKE_SOURCE_DIR}/tests/integration/check_portable.sh)
set_tests_properties(portable_binary PROPERTIES ENVIRONMENT "${CTLDB_IT_ENV}")
