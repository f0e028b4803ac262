#include <exception>
#include <iostream>

#include "cli/command.hpp"

int main(int argc, char** argv) {
  try {
    return ztp::cli::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "ztp: internal error: " << e.what() << "\n";
    return 1;
  }
}
