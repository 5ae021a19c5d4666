#pragma once
// A minimal JSON object writer for the introspection ops (plans, tile tables): flat key/value pairs,
// nested objects and arrays passed in already serialized.
#include <cstdint>
#include <string>
#include <vector>

namespace tilekernels {

inline std::string json_quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out + "\"";
}

class JsonObject {
 public:
  JsonObject& add(const std::string& key, const std::string& value) { return raw(key, json_quote(value)); }
  JsonObject& add(const std::string& key, const char* value) { return raw(key, json_quote(value)); }
  JsonObject& add(const std::string& key, int64_t value) { return raw(key, std::to_string(value)); }
  JsonObject& add(const std::string& key, int value) { return raw(key, std::to_string(value)); }
  JsonObject& add(const std::string& key, bool value) { return raw(key, value ? "true" : "false"); }
  JsonObject& raw(const std::string& key, const std::string& serialized) {
    fields_.push_back(json_quote(key) + ": " + serialized);
    return *this;
  }
  std::string str() const {
    std::string out = "{";
    for (size_t i = 0; i < fields_.size(); ++i) out += (i ? ", " : "") + fields_[i];
    return out + "}";
  }

 private:
  std::vector<std::string> fields_;
};

inline std::string json_array(const std::vector<std::string>& serialized_items) {
  std::string out = "[";
  for (size_t i = 0; i < serialized_items.size(); ++i) out += (i ? ", " : "") + serialized_items[i];
  return out + "]";
}

}  // namespace tilekernels
