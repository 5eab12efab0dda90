# The plugin's settings (included from tests/CMakeLists.txt): --set,
# --config FILE and its reload, through a real server and a fixture that
# answers what mc_config() says.
mchost_add_fixture(settings)
mchost_add_test(integration.config TIMEOUT 120
  DEPENDS mchost_fixture_settings)
