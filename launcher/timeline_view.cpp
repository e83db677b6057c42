// raympi timeline: checks a Chrome trace and writes it into the page template
// (see timeline_view.hpp). The drawing is the page's own JS; this file only
// validates, escapes and fills in @TITLE@, @META_JSON@ and @TRACE_JSON@.

#include "timeline_view.hpp"

#include "timeline_view_page.hpp"  // generated: kTimelinePage

#include <raympi/errors.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>
#include <utility>

namespace raympi::launcher {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw raympi::Error("raympi timeline: " + path + ": " + what);
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(path, "is a folder, not a trace file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::string("cannot read it: ") + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) fail(path, "cannot read it");
  return text.str();
}

// "[json.exception.parse_error.101] parse error at line 1, ..." -> "parse error at line 1, ..."
std::string json_message(const std::exception& e) {
  std::string_view m = e.what();
  if (!m.empty() && m.front() == '[') {
    if (auto close = m.find("] "); close != std::string_view::npos) m.remove_prefix(close + 2);
  }
  return std::string(m);
}

// How the page names an event in messages: traceEvents[7] (ph X, name "f").
std::string event_label(std::size_t index, const json& ev) {
  std::string label = "traceEvents[" + std::to_string(index) + "]";
  if (auto ph = ev.find("ph"); ph != ev.end() && ph->is_string()) {
    label += " (ph " + ph->get<std::string>();
    if (auto name = ev.find("name"); name != ev.end() && name->is_string())
      label += ", name \"" + name->get<std::string>() + "\"";
    label += ")";
  }
  return label;
}

// The same key the page uses to pair an "s" with an "f": cat and id as JS's String().
std::string flow_key(const json& ev) {
  std::string cat;
  if (auto c = ev.find("cat"); c != ev.end() && c->is_string()) cat = c->get<std::string>();
  const json& id = ev.at("id");
  return cat + '\x1f' + (id.is_string() ? id.get<std::string>() : id.dump());
}

// Checks the events the page draws (X, s, f; M for names); others are ignored.
TimelineSummary check_events(const std::string& path, const json& events) {
  TimelineSummary sum;
  sum.events = events.size();
  std::map<std::string, std::pair<std::size_t, std::size_t>> flows;  // key -> (s count, f count)
  for (std::size_t i = 0; i < events.size(); ++i) {
    const json& ev = events[i];
    if (!ev.is_object())
      fail(path, "traceEvents[" + std::to_string(i) + "] is " + ev.type_name() + ", not an event object");
    auto ph_it = ev.find("ph");
    if (ph_it == ev.end() || !ph_it->is_string()) continue;  // not an event the page knows
    const std::string ph = ph_it->get<std::string>();
    if (ph != "X" && ph != "s" && ph != "f") continue;
    auto bad = [&](const std::string& what) { fail(path, event_label(i, ev) + ": " + what); };
    auto ts = ev.find("ts");
    if (ts == ev.end()) bad("no ts");
    if (!ts->is_number()) bad(std::string("ts is ") + ts->type_name() + ", not a number");
    for (const char* key : {"pid", "tid"}) {
      auto v = ev.find(key);
      if (v != ev.end() && !v->is_number() && !v->is_string())
        bad(std::string(key) + " is " + v->type_name() + ", not a number or string");
    }
    if (ph == "X") {
      if (auto dur = ev.find("dur"); dur != ev.end()) {
        if (!dur->is_number()) bad(std::string("dur is ") + dur->type_name() + ", not a number");
        if (dur->get<double>() < 0) bad("dur is negative");
      }
      if (auto args = ev.find("args"); args != ev.end() && !args->is_object() && !args->is_null())
        bad(std::string("args is ") + args->type_name() + ", not an object");
      ++sum.bars;
      continue;
    }
    auto id = ev.find("id");
    if (id == ev.end()) bad("a flow event without an id");
    if (!id->is_number() && !id->is_string()) bad(std::string("id is ") + id->type_name() + ", not a number or string");
    auto& counts = flows[flow_key(ev)];
    (ph == "s" ? counts.first : counts.second) += 1;
  }
  for (const auto& [key, counts] : flows) sum.flows += std::min(counts.first, counts.second);
  return sum;
}

// JSON for a <script type="application/json"> element: every '<' as \u003c, so
// no name can close the script ("</script>") or open a comment ("<!--"). '<'
// only occurs inside JSON strings, where \u003c means the same character.
std::string script_json(const json& value) {
  const std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size() + 64);
  for (char c : text) {
    if (c == '<') out += "\\u003c";
    else out += c;
  }
  return out;
}

std::string html_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// The template with each @NAME@ of @p values replaced (one pass: replaced text
// is never searched again, so the trace cannot inject a placeholder).
std::string fill_template(std::string_view page, const std::map<std::string, std::string>& values) {
  std::string out;
  out.reserve(page.size() + values.at("@TRACE_JSON@").size() + 256);
  std::size_t pos = 0;
  while (pos < page.size()) {
    const std::size_t at = page.find('@', pos);
    if (at == std::string_view::npos) break;
    bool replaced = false;
    for (const auto& [token, value] : values) {
      if (page.compare(at, token.size(), token) == 0) {
        out.append(page.substr(pos, at - pos)).append(value);
        pos = at + token.size();
        replaced = true;
        break;
      }
    }
    if (!replaced) {
      out.append(page.substr(pos, at + 1 - pos));
      pos = at + 1;
    }
  }
  out.append(page.substr(std::min(pos, page.size())));
  return out;
}

}  // namespace

std::string default_view_path(const std::string& trace_path) {
  constexpr std::string_view ext = ".json";
  if (trace_path.size() > ext.size() && trace_path.compare(trace_path.size() - ext.size(), ext.size(), ext) == 0)
    return trace_path.substr(0, trace_path.size() - ext.size()) + ".html";
  return trace_path + ".html";
}

TimelineSummary write_timeline_view(const std::string& trace_path, const std::string& html_path) {
  const std::string text = read_file(trace_path);
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) fail(trace_path, "not JSON: the file is empty");
  json trace;
  try {
    trace = json::parse(text);
  } catch (const json::exception& e) {
    fail(trace_path, "not JSON: " + json_message(e));
  }
  const json* events = nullptr;
  if (trace.is_array()) {
    events = &trace;  // the JSON Array Format: the events alone
  } else if (trace.is_object()) {
    auto it = trace.find("traceEvents");
    if (it == trace.end()) fail(trace_path, "not a Chrome trace: no traceEvents array");
    if (!it->is_array()) fail(trace_path, std::string("not a Chrome trace: traceEvents is ") + it->type_name() + ", not an array");
    events = &*it;
  } else {
    fail(trace_path, std::string("not a Chrome trace: the file holds ") + trace.type_name() +
                         ", not an object with a traceEvents array");
  }
  const TimelineSummary sum = check_events(trace_path, *events);

  const std::string name = std::filesystem::path(trace_path).filename().string();
  const json meta = {{"file", name}, {"path", trace_path}, {"generator", "raympi timeline"}};
  const std::string page = fill_template(std::string_view(reinterpret_cast<const char*>(generated::kTimelinePage), sizeof generated::kTimelinePage - 1),
                                         {{"@TITLE@", html_escape(name)},
                                          {"@META_JSON@", script_json(meta)},
                                          {"@TRACE_JSON@", script_json(trace)}});
  std::ofstream out(html_path, std::ios::binary | std::ios::trunc);
  if (!out) fail(html_path, std::string("cannot write the page: ") + std::strerror(errno));
  out << page;
  out.close();
  if (!out) fail(html_path, "cannot write the page");
  return sum;
}

}  // namespace raympi::launcher
