/* Prints argc, then each argument with its length in bytes. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  printf("argc=%d\n", argc);
  for (int i = 0; i < argc; i++) printf("%d [%zu] %s\n", i, strlen(argv[i]), argv[i]);
  return 0;
}
