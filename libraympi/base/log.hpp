#pragma once
// Logging through spdlog; level from Config::log_level / RAYMPI_LOG_LEVEL.

#include <spdlog/spdlog.h>

#include <string>

namespace raympi::detail {
void setup_logging(const std::string& level, int rank);
}

#define RAYMPI_LOG_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
#define RAYMPI_LOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define RAYMPI_LOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define RAYMPI_LOG_ERROR(...) ::spdlog::error(__VA_ARGS__)
