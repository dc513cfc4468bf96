# The layering the build enforces, tried the way a wrong change would break
# it: a file of base including pg must fail to compile, its mirror image must
# compile, and every pair of folders is preprocessed with the include
# directories of the lower one (check.sh, against the table in
# docs/architecture.md).
add_library(layering_probe_forbidden OBJECT EXCLUDE_FROM_ALL tests/layering/base_uses_pg.cpp)
target_link_libraries(layering_probe_forbidden PRIVATE ctldb_base)
add_library(layering_probe_allowed OBJECT EXCLUDE_FROM_ALL tests/layering/pg_uses_base.cpp)
target_link_libraries(layering_probe_allowed PRIVATE ctldb_pg)
add_test(NAME layering
  COMMAND bash ${CMAKE_SOURCE_DIR}/tests/layering/check.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
add_test(NAME no_sql_in_commands
  COMMAND bash ${CMAKE_SOURCE_DIR}/tests/layering/no_sql_in_commands.sh ${CMAKE_SOURCE_DIR})
add_test(NAME no_sql_in_commands_catches
  COMMAND bash ${CMAKE_SOURCE_DIR}/tests/layering/no_sql_in_commands.sh ${CMAKE_SOURCE_DIR}
    ${CMAKE_SOURCE_DIR}/tests/layering/fixtures/command_with_sql.cpp)
set_tests_properties(no_sql_in_commands_catches PROPERTIES WILL_FAIL TRUE)
add_test(NAME no_printing_in_commands_catches
  COMMAND bash ${CMAKE_SOURCE_DIR}/tests/layering/no_sql_in_commands.sh ${CMAKE_SOURCE_DIR}
    ${CMAKE_SOURCE_DIR}/tests/layering/fixtures/command_that_prints.cpp)
set_tests_properties(no_printing_in_commands_catches PROPERTIES WILL_FAIL TRUE)
# No function over 80 lines outside data tables (scripts/long-functions).
add_test(NAME function_length
  COMMAND python3 ${CMAKE_SOURCE_DIR}/scripts/long-functions ${CMAKE_SOURCE_DIR}/src)
