// oauthdemo: wiring only; the commands live in cli/commands/, the setup in cli/app.cc.
#include <cstdio>
#include <exception>

#include "cli/app.h"

int main(int argc, char** argv) {
  // The one catch-all of the CLI (house style): nothing below lets an exception escape on
  // purpose, but a bad_alloc or a library surprise must still end with a message and exit 1.
  try {
    return oauthdemo::cli::run_app(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oauthdemo: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "oauthdemo: internal error\n");
  }
  return 1;
}
