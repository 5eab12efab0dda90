# Operations at run time (included at the end of tests/CMakeLists.txt): the
# access log, --log-format json, --max-requests, --user (integration.ops),
# and no heap allocation per request (integration.ops_alloc).

add_executable(test_ops integration/test_ops.c)
target_link_libraries(test_ops PRIVATE mchost_test_harness
                      PkgConfig::CRITERION)
target_compile_options(test_ops PRIVATE ${MCHOST_WARNINGS})
set_target_properties(test_ops PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
# The access log tests answer a 404 from the example app.
add_dependencies(test_ops app)
add_test(NAME integration.ops COMMAND test_ops)
set_tests_properties(integration.ops PROPERTIES TIMEOUT 90
                     LABELS integration)

# ---- the allocation counter: an LD_PRELOAD shim ----

add_library(mchost_malloc_count MODULE support/malloc_count.c)
set_target_properties(mchost_malloc_count PROPERTIES
  PREFIX "" OUTPUT_NAME malloc_count
  LIBRARY_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests/support")
target_compile_options(mchost_malloc_count PRIVATE ${MCHOST_WARNINGS})
target_link_libraries(mchost_malloc_count PRIVATE ${CMAKE_DL_LIBS})

add_executable(test_ops_alloc integration/test_ops_alloc.c)
target_link_libraries(test_ops_alloc PRIVATE mchost_test_harness
                      PkgConfig::CRITERION)
target_compile_options(test_ops_alloc PRIVATE ${MCHOST_WARNINGS})
target_compile_definitions(test_ops_alloc PRIVATE
  MALLOC_COUNT_SO="$<TARGET_FILE:mchost_malloc_count>")
# ASan, TSan and MSan must be the first malloc of a process and refuse to
# run under the shim: the test skips itself in such a build.
if(MCHOST_SANITIZE MATCHES "address|thread|memory")
  target_compile_definitions(test_ops_alloc PRIVATE MCHOST_TEST_SANITIZED=1)
endif()
add_dependencies(test_ops_alloc mchost_malloc_count)
set_target_properties(test_ops_alloc PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
add_test(NAME integration.ops_alloc COMMAND test_ops_alloc)
set_tests_properties(integration.ops_alloc PROPERTIES TIMEOUT 120
                     LABELS integration)
