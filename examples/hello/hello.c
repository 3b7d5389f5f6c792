/* hello: prints a greeting and its arguments; exits with the first argument. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  printf("hello from wasm\n");
  for (int i = 1; i < argc; i++) printf("arg %d: %s\n", i, argv[i]);
  return argc > 1 ? atoi(argv[1]) : 0;
}
