# Every dependency comes from Debian's packages (scripts/bootstrap.sh installs them);
# nothing is vendored or downloaded at build time.
find_package(PkgConfig REQUIRED)
find_package(OpenSSL 3.0 REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(doctest REQUIRED)
find_package(tl-expected REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
pkg_check_modules(QRENCODE REQUIRED IMPORTED_TARGET libqrencode)

# Debian ships cpp-httplib 0.11.4 as a shared library; its pkg-config file carries the
# feature macros (OpenSSL, zlib, brotli) that the header must agree with. Compile-time
# CPPHTTPLIB_* defaults live in the .so, so project code only uses runtime setters.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
add_library(httplib_shared INTERFACE)
target_link_libraries(httplib_shared INTERFACE PkgConfig::HTTPLIB OpenSSL::SSL OpenSSL::Crypto Threads::Threads)

if(OAUTHDEMO_BENCH)
  find_package(benchmark REQUIRED)
endif()
