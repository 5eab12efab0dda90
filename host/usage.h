/* usage.h - what mchost tells about its own use: --help and the generated
 * reference of its options and signals (docs/options.md, the README's
 * tables). */
#ifndef MCHOST_USAGE_H
#define MCHOST_USAGE_H

/* Writes --help to stdout. */
void usage_print_help(void);

/* Writes one generated piece of the docs to stdout, as Markdown: "options"
 * (the README's options table), "signals" (the signals table) or
 * "reference" (all of docs/options.md). -EINVAL for another name. */
int usage_print_markdown(const char *what);

#endif
