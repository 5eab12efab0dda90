# Operations at run time (included from tests/CMakeLists.txt): the access
# log, --log-format json, --max-requests, --user (integration.ops), and no
# heap allocation per request (integration.ops_alloc). systemd notification
# is the unit test unit.notify (unit.cmake).

# The access log tests answer a 404 from the example app.
mchost_add_test(integration.ops TIMEOUT 90 DEPENDS app)

# ---- the allocation counter: an LD_PRELOAD shim ----

add_library(mchost_malloc_count MODULE support/malloc_count.c)
set_target_properties(mchost_malloc_count PROPERTIES
  PREFIX "" OUTPUT_NAME malloc_count
  LIBRARY_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests/support")
target_compile_options(mchost_malloc_count PRIVATE ${MCHOST_WARNINGS})
target_link_libraries(mchost_malloc_count PRIVATE ${CMAKE_DL_LIBS})

mchost_add_test(integration.ops_alloc TIMEOUT 120
  DEFINITIONS MALLOC_COUNT_SO="$<TARGET_FILE:mchost_malloc_count>"
  DEPENDS mchost_malloc_count)
# ASan, TSan and MSan must be the first malloc of a process and refuse to
# run under the shim: the test skips itself in such a build.
if(MCHOST_SANITIZE MATCHES "address|thread|memory")
  target_compile_definitions(test_ops_alloc PRIVATE MCHOST_TEST_SANITIZED=1)
endif()

# test_params: the SDK's request helpers (query, form, cookies, multipart)
# with curl and Python against the params fixture, and hostile input.
mchost_add_fixture(params)
mchost_add_test(integration.params TIMEOUT 90 SOURCES integration/project.c
                DEPENDS mchost_fixture_params)
# Its limits come from the SDK header.
target_include_directories(test_params PRIVATE "${PROJECT_SOURCE_DIR}/sdk")

# test_admin: --admin (/healthz, /readyz, /metrics checked by promtool,
# from the Debian prometheus package: `make deps`), --drain-delay, and
# idle keep-alive connections shed at --max-connections. crash.so makes
# the crashes, the crash loop and the hanging handler.
mchost_add_test(integration.admin TIMEOUT 120 DEPENDS mchost_fixture_crash)
