#include "common/http/listen_port.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace oauthdemo::http {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool parse_hex(std::string_view text, unsigned long& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
  return ec == std::errc{} && end == text.data() + text.size();
}

std::string bracketed(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// " (NAME)": the file name of argv[0] (comm is cut at 15 bytes: "oauthdemo-devid"), else comm.
std::string program_name(const fs::path& process) {
  std::string name = read_text(process / "cmdline");
  name = name.substr(0, name.find('\0'));
  if (const auto slash = name.rfind('/'); slash != std::string::npos) name.erase(0, slash + 1);
  if (name.empty()) name = read_text(process / "comm");
  while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
  if (name.size() > 64) name.resize(64);
  for (char& c : name)  // a name is whatever its program chose: printable ASCII only on a terminal
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  return name.empty() ? "" : " (" + name + ")";
}

// The pid and command name of the process with a descriptor on socket `inode`, or "".
std::string process_with_socket(const std::string& proc, const std::vector<unsigned long>& inodes) {
  std::error_code ec;
  for (fs::directory_iterator it(proc, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string pid = it->path().filename().string();
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code fd_ec;  // another user's process: not readable, skipped
    for (fs::directory_iterator fd(it->path() / "fd", fd_ec), fd_end; !fd_ec && fd != fd_end; fd.increment(fd_ec)) {
      std::error_code link_ec;
      const std::string target = fs::read_symlink(fd->path(), link_ec).string();
      if (link_ec || target.rfind("socket:[", 0) != 0) continue;
      for (unsigned long inode : inodes) {
        if (target != "socket:[" + std::to_string(inode) + "]") continue;
        return "pid " + pid + program_name(it->path());
      }
    }
  }
  return "";
}

}  // namespace

void set_listener_options(int fd) {
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
}

std::vector<unsigned long> listening_inodes(std::string_view text, int port) {
  std::vector<unsigned long> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string line(text.substr(start, end - start));
    start = end + 1;
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
    std::istringstream fields(line);
    std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout, inode_text;
    if (!(fields >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode_text))
      continue;
    const auto colon = local.rfind(':');
    unsigned long local_port = 0, inode = 0;
    if (colon == std::string::npos || !parse_hex(std::string_view(local).substr(colon + 1), local_port)) continue;
    if (state != "0A" || local_port != static_cast<unsigned long>(port)) continue;
    const auto [p, ec] = std::from_chars(inode_text.data(), inode_text.data() + inode_text.size(), inode);
    if (ec == std::errc{} && p == inode_text.data() + inode_text.size() && inode != 0) out.push_back(inode);
  }
  return out;
}

std::string describe_port_holder(int port, const std::string& proc) {
  std::vector<unsigned long> inodes;
  for (const char* table : {"net/tcp", "net/tcp6"}) {
    const auto found = listening_inodes(read_text(fs::path(proc) / table), port);
    inodes.insert(inodes.end(), found.begin(), found.end());
  }
  if (inodes.empty()) return "";
  return process_with_socket(proc, inodes);
}

int probe_bind(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* list = nullptr;
  const std::string service = std::to_string(port);
  if (::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &list) != 0 || list == nullptr)
    return EADDRNOTAVAIL;
  int result = 0;
  const int fd = ::socket(list->ai_family, list->ai_socktype | SOCK_CLOEXEC, list->ai_protocol);
  if (fd < 0) {
    result = errno;
  } else {
    set_listener_options(fd);
    if (::bind(fd, list->ai_addr, list->ai_addrlen) != 0) result = errno;
    ::close(fd);
  }
  ::freeaddrinfo(list);
  return result;
}

std::string port_in_use_message(const std::string& host, int port, std::string_view setting_hint) {
  const std::string holder = describe_port_holder(port);
  return "port " + std::to_string(port) + " on " + host + " is in use" + (holder.empty() ? "" : " by " + holder) +
         "; stop that program or choose another port with " + std::string(setting_hint);
}

std::string bind_failure_message(const std::string& host, int port, std::string_view setting_hint) {
  const int err = probe_bind(host, port);
  if (err == EADDRINUSE || (err == 0 && !describe_port_holder(port).empty()))
    return port_in_use_message(host, port, setting_hint);
  return "cannot listen on " + bracketed(host) + ":" + std::to_string(port) + ": " +
         (err == 0 ? std::string("the bind failed") : std::string(std::strerror(err))) + " (" +
         std::string(setting_hint) + ")";
}

}  // namespace oauthdemo::http
