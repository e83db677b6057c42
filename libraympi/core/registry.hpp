#pragma once
// Registry internals used at init: the sorted keys every rank compares.

#include <string>
#include <vector>

namespace raympi::detail {

/// Sorted registry keys (name|type) of this process.
std::vector<std::string> registry_keys();
/// Problems found while registering (duplicate names, id collisions).
std::vector<std::string> registry_errors();
/// Display names by key, for messages.
std::string registry_display_name(const std::string& key);

}  // namespace raympi::detail
