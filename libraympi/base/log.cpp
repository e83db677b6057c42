#include "base/log.hpp"

namespace raympi::detail {

void setup_logging(const std::string& level, int rank) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") lvl = spdlog::level::warn;
  spdlog::set_level(lvl);
  spdlog::set_pattern("[raympi rank " + std::to_string(rank) + " %l] %v");
}

}  // namespace raympi::detail
