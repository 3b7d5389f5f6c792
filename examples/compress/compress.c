/* compress: a small LZ77 compressor. `compress` reads stdin and writes the
 * compressed form to stdout; `compress -d` reverses it.
 *
 * The stream is a sequence of tokens, each starting with a control byte c:
 *   c < 128   a literal run: the next c+1 bytes are copied as they are;
 *   c >= 128  a match: copy (c-128)+3 bytes starting OFFSET bytes back in the
 *             output, where OFFSET (1..65535) is the next two bytes,
 *             big-endian. Matches may overlap their own output.
 * The compressor is greedy and finds candidates with a hash of the next
 * three bytes, keeping only the most recent position for each hash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MIN_MATCH = 3, MAX_MATCH = 127 + MIN_MATCH, MAX_LITERALS = 128, WINDOW = 65535,
       HASH_BITS = 14 };

static uint8_t *read_all(FILE *f, size_t *len) {
  size_t cap = 1 << 16, n = 0, got;
  uint8_t *buf = malloc(cap);
  while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) buf = realloc(buf, cap *= 2);
  }
  if (buf == NULL || ferror(f)) {
    fprintf(stderr, "compress: cannot read input\n");
    exit(1);
  }
  *len = n;
  return buf;
}

static void flush_literals(const uint8_t *start, size_t n) {
  while (n > 0) {
    size_t run = n < MAX_LITERALS ? n : MAX_LITERALS;
    putchar((int)(run - 1));
    fwrite(start, 1, run, stdout);
    start += run;
    n -= run;
  }
}

static unsigned hash3(const uint8_t *p) {
  uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
  return (v * 2654435761u) >> (32 - HASH_BITS);
}

static void compress(const uint8_t *in, size_t len) {
  static long head[1 << HASH_BITS];
  for (size_t i = 0; i < sizeof head / sizeof *head; i++) head[i] = -1;
  size_t pos = 0, lit_start = 0;
  while (pos + MIN_MATCH <= len) {
    unsigned h = hash3(in + pos);
    long cand = head[h];
    head[h] = (long)pos;
    size_t best = 0;
    if (cand >= 0 && pos - (size_t)cand <= WINDOW) {
      size_t limit = len - pos < MAX_MATCH ? len - pos : MAX_MATCH;
      while (best < limit && in[cand + best] == in[pos + best]) best++;
    }
    if (best < MIN_MATCH) {
      pos++;
      continue;
    }
    flush_literals(in + lit_start, pos - lit_start);
    size_t offset = pos - (size_t)cand;
    putchar((int)(128 + best - MIN_MATCH));
    putchar((int)(offset >> 8));
    putchar((int)(offset & 0xff));
    pos += best;
    lit_start = pos;
  }
  flush_literals(in + lit_start, len - lit_start);
}

static int decompress(const uint8_t *in, size_t len) {
  size_t cap = 1 << 16, n = 0, i = 0;
  uint8_t *out = malloc(cap);
  while (i < len) {
    unsigned c = in[i++];
    size_t run = c < 128 ? c + 1 : c - 128 + MIN_MATCH;
    if (n + run > cap) out = realloc(out, cap = 2 * (n + run));
    if (out == NULL) return 1;
    if (c < 128) {
      if (i + run > len) return 1;
      memcpy(out + n, in + i, run);
      i += run;
    } else {
      if (i + 2 > len) return 1;
      size_t offset = (size_t)in[i] << 8 | in[i + 1];
      i += 2;
      if (offset == 0 || offset > n) return 1;
      for (size_t k = 0; k < run; k++, n++) out[n] = out[n - offset];  /* may overlap */
      continue;
    }
    n += run;
  }
  fwrite(out, 1, n, stdout);
  return 0;
}

int main(int argc, char **argv) {
  int decode = argc == 2 && strcmp(argv[1], "-d") == 0;
  if (argc > 2 || (argc == 2 && !decode)) {
    fprintf(stderr, "usage: compress [-d] < IN > OUT\n");
    return 2;
  }
  size_t len;
  uint8_t *in = read_all(stdin, &len);
  if (!decode) {
    compress(in, len);
    return 0;
  }
  if (decompress(in, len) != 0) {
    fprintf(stderr, "compress: corrupt input\n");
    return 1;
  }
  return 0;
}
