// Lexicons: loading lexicon documents (JSON) into a catalog and validating data against them
// — records (with their record-key type), XRPC inputs, outputs and parameters, and any named
// def. Validation works on the atproto JSON form ({"$link"}, {"$bytes"}, blob objects); a
// cbor::Value record is converted to that form first. Refs and unions resolve across every
// document in the catalog, lazily, so documents may be added in any order.
// Build a catalog once, then share it: const methods are safe to call from many threads.
//
//   atproto::LexiconCatalog lex;
//   ATCR_TRY(lex.AddBuiltinAtcr());              // lexicons/io/atcr/*.json, compiled in
//   ATCR_TRY(lex.ValidateRecord("io.atcr.tag", record_json, rkey));
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "atcr/base/result.h"
#include "atcr/cbor/value.h"

namespace atcr::atproto {

class LexiconCatalog {
 public:
  LexiconCatalog();
  ~LexiconCatalog();
  LexiconCatalog(LexiconCatalog&&) noexcept;
  LexiconCatalog& operator=(LexiconCatalog&&) noexcept;

  // Adds one lexicon document after checking it is a well-formed lexicon (version 1, valid
  // NSID id, known def types in allowed positions, well-typed constraints). A document whose
  // id is already present is rejected.
  Status Add(const boost::json::value& doc);
  // Parses JSON text (bounded size and depth) and adds it.
  Status AddText(std::string_view json_text);
  // Adds every ATCR lexicon compiled into the library (lexicons/io/atcr/*.json).
  Status AddBuiltinAtcr();

  bool Contains(std::string_view nsid) const;
  // Ids of all documents, sorted.
  std::vector<std::string> Ids() const;
  // Type of the document's "main" def ("record", "query", "procedure", "subscription",
  // "permission-set", "object", ...); NotFound if absent.
  Result<std::string> MainType(std::string_view nsid) const;

  // Validates a record of type `collection`: `$type` must equal the collection, the data model
  // must hold (no floats, well-formed $link/$bytes/blob), and the record schema must match.
  // A non-empty `rkey` is also checked against the lexicon's record-key type.
  Status ValidateRecord(std::string_view collection, const boost::json::value& record,
                        std::string_view rkey = {}) const;
  Status ValidateRecord(std::string_view collection, const cbor::Value& record,
                        std::string_view rkey = {}) const;
  // XRPC bodies of a query/procedure (JSON encodings only) and its parameters. Parameter
  // values are typed JSON (a boolean, an integer, a string, or an array of those).
  Status ValidateInput(std::string_view method, const boost::json::value& body) const;
  Status ValidateOutput(std::string_view method, const boost::json::value& body) const;
  Status ValidateParams(std::string_view method, const boost::json::object& params) const;
  // Types raw URL query parameters by the method's params schema ("true"/"false" booleans,
  // decimal integers, strings; a name repeated for an array param) and validates the result.
  // Names the schema does not declare are kept as strings. Errors name the parameter.
  Result<boost::json::object> ParseParams(
      std::string_view method,
      std::span<const std::pair<std::string, std::string>> query) const;
  // Validates `value` against any def: "nsid" (its main) or "nsid#name".
  Status ValidateValue(std::string_view ref, const boost::json::value& value) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Data-model validity of atproto JSON: the top level is an object; no non-integral numbers
// and integers within int64; {"$link"} / {"$bytes"} objects have exactly that key and a valid
// value; `$type` is a non-empty string; `$type: "blob"` objects carry ref, mimeType and size.
Status ValidateJsonDataModel(const boost::json::value& value);

// Number of user-perceived characters (extended grapheme clusters, UAX #29) in UTF-8 text.
// Covers combining marks, ZWJ emoji sequences, emoji modifiers and variation selectors,
// regional-indicator flags and Hangul syllables; the rare Indic conjunct rule is not applied.
size_t CountGraphemes(std::string_view utf8);

}  // namespace atcr::atproto
