# Unit tests: host modules linked from the same objects as the executable
# (the mchost_core object library), no server.
foreach(unit config watch snapshot)
  add_executable(test_unit_${unit} unit/test_${unit}.c)
  target_link_libraries(test_unit_${unit} PRIVATE mchost_core
                        PkgConfig::CRITERION)
  target_compile_options(test_unit_${unit} PRIVATE ${MCHOST_WARNINGS})
  target_compile_definitions(test_unit_${unit} PRIVATE
    HELLO_SO="$<TARGET_FILE:hello>")
  add_dependencies(test_unit_${unit} hello)
  set_target_properties(test_unit_${unit} PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
  add_test(NAME unit.${unit} COMMAND test_unit_${unit})
  set_tests_properties(unit.${unit} PROPERTIES TIMEOUT 30 LABELS unit)
endforeach()
