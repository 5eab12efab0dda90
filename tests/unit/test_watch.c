/* test_watch.c - which file names count as source changes. */
#include <criterion/criterion.h>

#include "watch.h"

Test(watch, extension_list_matches_the_last_extension) {
  cr_expect(watch_ext_matches("c,h", "app.c"));
  cr_expect(watch_ext_matches("c,h", "router.h"));
  cr_expect(watch_ext_matches(".c,.h", "app.c"), "a leading dot is allowed");
  cr_expect(watch_ext_matches("c,cpp", "x.cpp"));
  cr_expect(!watch_ext_matches("c,h", "notes.txt"));
  cr_expect(!watch_ext_matches("c,h", "app.cc"));
  cr_expect(!watch_ext_matches("c,h", "Makefile"));
}

Test(watch, editor_droppings_do_not_count) {
  cr_expect(!watch_ext_matches("c,h", ".app.c.swp"));
  cr_expect(!watch_ext_matches("c,h", ".#app.c"), "emacs lock file");
  cr_expect(!watch_ext_matches("c,h", "app.c~"));
  cr_expect(!watch_ext_matches("c,h", "4913"), "vim's write probe");
}
