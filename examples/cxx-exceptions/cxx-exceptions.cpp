// cxx-exceptions [ROUNDS]: C++ throw/catch as a program uses them, printing
// what happened and a checksum (default 20000 rounds):
//   types     a hierarchy (AppError : std::runtime_error, ParseError and
//             IoError : AppError), std::out_of_range from vector::at, an int,
//             a const char*, a plain struct; each caught by its own type or by
//             a base class (AppError&, std::exception&), or by catch (...);
//   rethrow   `throw;` from a handler to the handler outside it, and an
//             exception kept in a std::exception_ptr and rethrown later;
//   raii      an exception crossing eight frames, each with a guard object
//             whose destructor must run (in order, innermost first), a
//             constructor that throws in its body after its members were built
//             (they are destroyed, last first), and a destructor that
//             catches an exception of its own while the stack unwinds;
//   parse     ROUNDS numbers parsed from generated text, every seventh one
//             malformed (a ParseError thrown from three frames down and
//             caught per number), summed: many throws in a loop.
// `cxx-exceptions uncaught` throws out of main instead.
//
// Built for WASI with -fwasm-exceptions, throw is the wasm instruction
// `throw` of the tag __cpp_exception and every catch or cleanup a try_table;
// see README.md for what zig 0.17 needs for that (build.py does it).
//
// Build and run (as tests/wasi/test_exception_examples.py does):
//   python examples/cxx-exceptions/build.py cxx-exceptions.wasm
//   wasmaot build cxx-exceptions.wasm -o cxx-exceptions && ./cxx-exceptions
// and compare with `wasmtime -W exceptions=y cxx-exceptions.wasm`: the same
// bytes.  Built natively (zig c++ -target x86_64-linux-musl) it prints the same.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

uint32_t checksum = 2166136261u;  // FNV-1a over every reported value

void mix(uint32_t v) {
  for (int i = 0; i < 4; i++) {
    checksum ^= (v >> (8 * i)) & 0xff;
    checksum *= 16777619u;
  }
}

void mix(const char *s) {
  for (; *s; s++) mix(static_cast<uint8_t>(*s));
}

void report(const char *section, const std::string &what) {
  std::printf("%-8s %s\n", section, what.c_str());
  mix(what.c_str());
}

// --- types ------------------------------------------------------------------

struct AppError : std::runtime_error {
  explicit AppError(const std::string &m) : std::runtime_error(m) {}
  virtual int code() const { return 1; }
};

struct ParseError : AppError {
  int offset;
  ParseError(const std::string &m, int off) : AppError(m), offset(off) {}
  int code() const override { return 100 + offset; }
};

struct IoError : AppError {
  int err;
  explicit IoError(int e) : AppError("io error " + std::to_string(e)), err(e) {}
  int code() const override { return 200 + err; }
};

struct Plain {  // not derived from std::exception
  int a, b;
};

void thrower(int kind) {
  std::vector<int> v{1, 2, 3};
  switch (kind) {
    case 0: throw ParseError("unexpected ')'", 7);
    case 1: throw IoError(5);
    case 2: throw AppError("generic failure");
    case 3: (void)v.at(3 + static_cast<size_t>(kind)); break;  // std::out_of_range
    case 4: throw 42;
    case 5: throw "a C string";
    case 6: throw Plain{3, 4};
    default: break;
  }
}

std::string classify(int kind) {
  try {
    thrower(kind);
    return "nothing thrown";
  } catch (const ParseError &e) {  // the most derived first
    return std::string("ParseError: ") + e.what() + " at " + std::to_string(e.offset);
  } catch (const AppError &e) {  // IoError and AppError itself, by their base
    return std::string("AppError&: ") + e.what() + ", code " + std::to_string(e.code());
  } catch (const std::exception &e) {  // out_of_range, by the standard base
    return std::string("std::exception&: ") + (std::strstr(e.what(), "vector") ? "vector" : "?") +
           " out of range";
  } catch (int n) {
    return "int " + std::to_string(n);
  } catch (const char *s) {
    return std::string("const char*: ") + s;
  } catch (...) {  // Plain
    return "catch (...)";
  }
}

void run_types() {
  for (int kind = 0; kind <= 7; kind++) report("types", std::to_string(kind) + ": " + classify(kind));
  // A derived exception caught by a base-class reference keeps its dynamic type.
  try {
    thrower(1);
  } catch (const std::runtime_error &e) {
    const auto *io = dynamic_cast<const IoError *>(&e);
    report("types", std::string("runtime_error& is an IoError: ") + (io ? "yes, err " + std::to_string(io->err) : "no"));
  }
}

// --- rethrow ----------------------------------------------------------------

int inner_handler(int kind) {
  try {
    thrower(kind);
  } catch (const AppError &e) {
    report("rethrow", std::string("inner saw ") + e.what() + ", rethrowing");
    throw;  // the same object, its dynamic type kept
  }
  return 0;
}

void run_rethrow() {
  for (int kind : {0, 1}) {
    try {
      inner_handler(kind);
    } catch (const ParseError &e) {
      report("rethrow", "outer caught the ParseError, offset " + std::to_string(e.offset));
    } catch (const IoError &e) {
      report("rethrow", "outer caught the IoError, err " + std::to_string(e.err));
    }
  }
  std::exception_ptr kept;
  try {
    thrower(2);
  } catch (...) {
    kept = std::current_exception();
  }
  report("rethrow", std::string("kept an exception_ptr: ") + (kept ? "yes" : "no"));
  try {
    std::rethrow_exception(kept);
  } catch (const AppError &e) {
    report("rethrow", std::string("rethrow_exception gave back: ") + e.what());
  }
}

// --- raii -------------------------------------------------------------------

std::string log_text;
int live = 0;

struct Guard {
  int id;
  explicit Guard(int i) : id(i) {
    live++;
    log_text += "+" + std::to_string(id);
  }
  ~Guard() {
    live--;
    log_text += "-" + std::to_string(id);
  }
  Guard(const Guard &) = delete;
  Guard &operator=(const Guard &) = delete;
};

int descend(int depth) {
  Guard g(depth);
  if (depth == 8) throw IoError(depth);
  return descend(depth + 1) + 1;  // not a tail call: g lives across it
}

struct Widget {
  Guard a{100}, b{101};
  std::string name;
  Guard c{102};
  explicit Widget(bool fail) : name("widget") {
    if (fail) throw AppError("widget constructor failed");
  }
};

struct Careful {  // its destructor throws and catches while the stack unwinds
  ~Careful() {
    try {
      throw ParseError("inside a destructor", 1);
    } catch (const ParseError &e) {
      log_text += "[dtor caught " + std::to_string(e.offset) + " uncaught=" +
                  std::to_string(std::uncaught_exceptions()) + "]";
    }
  }
};

void run_raii() {
  try {
    descend(1);
  } catch (const IoError &e) {
    report("raii", "crossed 8 frames: " + log_text + ", live " + std::to_string(live));
  }
  log_text.clear();
  try {
    Widget w(true);
  } catch (const AppError &e) {
    report("raii", std::string(e.what()) + ": " + log_text + ", live " + std::to_string(live));
  }
  log_text.clear();
  {
    Widget ok(false);
    report("raii", "widget built: " + log_text + ", live " + std::to_string(live));
  }
  log_text.clear();
  try {
    Careful c;
    Guard g(7);
    throw 1;
  } catch (int) {
    report("raii", "while unwinding: " + log_text + ", live " + std::to_string(live));
  }
}

// --- parse: many throws in a loop --------------------------------------------

int digit(char c, int at) {
  if (c < '0' || c > '9') throw ParseError("not a digit", at);
  return c - '0';
}

long parse_number(const std::string &s) {
  if (s.empty()) throw ParseError("empty", 0);
  long v = 0;
  for (size_t i = 0; i < s.size(); i++) v = v * 10 + digit(s[i], static_cast<int>(i));
  return v;
}

long parse_field(const std::string &s) { return parse_number(s) + 1; }

void run_parse(uint32_t rounds) {
  uint64_t sum = 0;
  uint32_t bad = 0, offsets = 0;
  uint32_t seed = 12345;
  std::string text;
  for (uint32_t i = 0; i < rounds; i++) {
    seed = seed * 1103515245u + 12345u;
    text = std::to_string(seed >> 8);
    if (i % 7 == 6) text[(seed >> 3) % text.size()] = static_cast<char>('a' + i % 26);
    try {
      sum += static_cast<uint64_t>(parse_field(text));
    } catch (const ParseError &e) {
      bad++;
      offsets += static_cast<uint32_t>(e.offset);
    }
  }
  report("parse", std::to_string(rounds) + " numbers, " + std::to_string(bad) + " malformed (offsets " +
                      std::to_string(offsets) + "), sum " + std::to_string(sum));
}

}  // namespace

int main(int argc, char **argv) {
  if (argc == 2 && std::strcmp(argv[1], "uncaught") == 0) {
    // No handler anywhere: under wasm the exception leaves _start, which the
    // engine reports (exit status 1); natively std::terminate aborts.
    std::printf("throwing an IoError that nothing catches\n");
    std::fflush(stdout);
    throw IoError(9);
  }
  char *end = nullptr;
  long rounds = argc > 1 ? std::strtol(argv[1], &end, 10) : 20000;
  if (argc > 2 || (argc > 1 && (*end != '\0' || rounds < 0 || rounds > 100000000))) {
    std::fprintf(stderr, "usage: cxx-exceptions [ROUNDS]  (0 to 100000000)\n");
    return 2;
  }
  run_types();
  run_rethrow();
  run_raii();
  run_parse(static_cast<uint32_t>(rounds));
  std::printf("checksum %08x\n", checksum);
  return 0;
}
