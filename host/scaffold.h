/* scaffold.h - `mchost new NAME [DIR]`: a ready plugin project. */
#ifndef MCHOST_SCAFFOLD_H
#define MCHOST_SCAFFOLD_H

/* Runs `mchost new`: argv[0] is "new", then NAME and an optional DIR
 * (default ./NAME). Writes DIR/src/NAME.c, DIR/CMakeLists.txt,
 * DIR/README.md and DIR/.gitignore, and says what to run next on stdout.
 * Returns the process exit code: EXIT_OK, EXIT_USAGE (bad arguments, a name
 * other than [A-Za-z0-9_-], DIR exists and is not an empty directory), or
 * EXIT_RUNTIME (cannot create or write a file); the message is on stderr. */
int scaffold_main(int argc, char **argv);

#endif
