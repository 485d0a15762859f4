#include "strict_json.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>
#include <new>

namespace atcr::oci::internal {
namespace json = boost::json;
namespace {

// Builds a value exactly like boost::json::parser does, and counts keys as they arrive so a
// later walk can tell whether building the objects dropped any (a duplicate).
struct CountingHandler {
  static constexpr size_t max_object_size = json::object::max_size();
  static constexpr size_t max_array_size = json::array::max_size();
  static constexpr size_t max_key_size = json::string::max_size();
  static constexpr size_t max_string_size = json::string::max_size();

  json::value_stack st;
  size_t keys = 0;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(size_t n, json::error_code&) {
    st.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(size_t n, json::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, size_t, json::error_code&) {
    st.push_key(s);
    ++keys;
    return true;
  }
  bool on_string_part(json::string_view s, size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, size_t, json::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(int64_t i, json::string_view, json::error_code&) {
    st.push_int64(i);
    return true;
  }
  bool on_uint64(uint64_t u, json::string_view, json::error_code&) {
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view, json::error_code&) {
    st.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

// Depth is bounded by kMaxJsonDepth, so the recursion is too.
size_t CountKeys(const json::value& v) {
  size_t n = 0;
  if (const json::object* o = v.if_object()) {
    n += o->size();
    for (const auto& kv : *o) n += CountKeys(kv.value());
  } else if (const json::array* a = v.if_array()) {
    for (const json::value& e : *a) n += CountKeys(e);
  }
  return n;
}

}  // namespace

Result<json::value> ParseStrictJson(std::string_view text, std::string_view wire) {
  json::parse_options opts;
  opts.max_depth = kMaxJsonDepth;
  opts.allow_comments = false;
  opts.allow_trailing_commas = false;
  opts.allow_invalid_utf8 = false;
  try {
    json::basic_parser<CountingHandler> p(opts);
    p.handler().st.reset();
    json::error_code ec;
    size_t n = p.write_some(false, text.data(), text.size(), ec);
    if (!ec && n < text.size()) ec = json::error::extra_data;
    if (ec) {
      std::string what = ec == json::error::too_deep
                             ? "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels"
                             : ec.message();
      return InvalidArgument("invalid JSON at byte " + std::to_string(n) + ": " + what,
                             std::string(wire));
    }
    json::value v = p.handler().st.release();
    if (CountKeys(v) != p.handler().keys) {
      return InvalidArgument("invalid JSON: an object has a duplicate key", std::string(wire));
    }
    return v;
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("out of memory parsing JSON");
  } catch (const std::exception& e) {
    // Boost.JSON throws only for sizes beyond its limits; report them as bad input.
    return InvalidArgument(std::string("invalid JSON: ") + e.what(), std::string(wire));
  }
}

}  // namespace atcr::oci::internal
