#include "proxy/http_head.hpp"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>
#include <charconv>
#include <cstring>
#include <limits>
#include <random>

namespace ztp::proxy {
namespace {

using namespace std::string_view_literals;

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using http::field;

constexpr uint32_t k_header_limit = 64 * 1024;
constexpr std::string_view k_crlf = "\r\n";
constexpr std::string_view k_last_chunk = "0\r\n\r\n";

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

bool hop_by_hop(field name) {
  switch (name) {
    case field::connection:
    case field::keep_alive:
    case field::proxy_connection:
    case field::te:
    case field::upgrade:
      return true;
    default:
      return false;
  }
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  const size_t at = out.size();
  out.resize(at + name.size() + value.size() + 4);  // one capacity check, not four
  char* p = out.data() + at;
  if (!name.empty()) {  // an empty view may hold a null pointer, which memcpy must not get
    std::memcpy(p, name.data(), name.size());
    p += name.size();
  }
  *p++ = ':';
  *p++ = ' ';
  if (!value.empty()) {
    std::memcpy(p, value.data(), value.size());
    p += value.size();
  }
  *p++ = '\r';
  *p = '\n';
}

// Removes every `name:` line of a head that has no end yet (re-framing a response for an
// HTTP/1.0 client; rare, so a scan is fine).
void erase_fields(std::string& head, std::string_view name) {
  size_t line = head.find(k_crlf);
  while (line != std::string::npos && line + 2 < head.size()) {
    size_t start = line + 2;
    size_t end = head.find(k_crlf, start);
    if (end == std::string::npos) {
      return;
    }
    std::string_view text(head.data() + start, end - start);
    if (text.size() > name.size() && text[name.size()] == ':' &&
        beast::iequals(beast::string_view(text.data(), name.size()),
                       beast::string_view(name.data(), name.size()))) {
      head.erase(start, end + 2 - start);
      line = start - 2;
    } else {
      line = end;
    }
  }
}

}  // namespace

void new_request_id(std::string& out) {
  static constexpr char k_hex[] = "0123456789abcdef";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  out.resize(32);
  for (size_t half = 0; half < 2; ++half) {
    uint64_t v = rng();
    for (size_t i = 0; i < 16; ++i) {
      out[half * 16 + 15 - i] = k_hex[v & 0xf];
      v >>= 4;
    }
  }
}

// --- RequestHead

void RequestHead::reset(std::string_view client, std::string_view authority) {
  m_parser.emplace(*this);
  m_parser->header_limit(k_header_limit);
  m_parser->body_limit(std::numeric_limits<std::uint64_t>::max());
  m_head.clear();
  m_connection.reset();
  m_forwarded_for.clear();
  m_client = client;
  m_authority = authority;
  m_method = http::verb::unknown;
  m_method_len = 0;
  m_target_len = 0;
  m_version = 11;
  m_has_forwarded_for = false;
  m_has_request_id = false;
  m_expect_continue = false;
  m_host_fields = 0;
  m_has_content_length = false;
  m_has_transfer_encoding = false;
  m_chunked_last = false;
  m_coding_refusal = 0;
  m_refusal = 0;
}

size_t RequestHead::put(asio::const_buffer in, beast::error_code& ec) {
  if (m_parser->is_header_done()) {
    m_parser->eager(true);
  }
  size_t n = m_parser->put(in, ec);
  if (ec && ec != http::error::need_more && m_refusal == 0) {
    m_refusal = 400;
  }
  return n;
}

void RequestHead::transfer_codings(std::string_view value) {
  m_has_transfer_encoding = true;
  size_t at = 0;
  while (at <= value.size()) {
    size_t end = std::min(value.find(',', at), value.size());
    std::string_view coding = value.substr(at, end - at);
    at = end + 1;
    while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) {
      coding.remove_prefix(1);
    }
    while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) {
      coding.remove_suffix(1);
    }
    if (coding.empty()) {
      continue;  // an empty list element
    }
    if (m_chunked_last) {
      m_coding_refusal = 400;  // chunked is not the last coding: the length is unknowable
    }
    m_chunked_last = beast::iequals(beast::string_view(coding.data(), coding.size()), "chunked");
    if (!m_chunked_last && m_coding_refusal == 0) {
      m_coding_refusal = 501;
    }
  }
}

int RequestHead::judge_head() const {
  if (m_method == http::verb::connect) {
    return 405;  // the front door is no tunnel
  }
  if (m_host_fields > 1 || (m_host_fields == 0 && m_version >= 11)) {
    return 400;
  }
  if (m_has_transfer_encoding) {
    // HTTP/1.0 has no transfer codings; an empty list or one with Content-Length is ambiguous.
    if (m_version < 11 || m_coding_refusal == 400 || m_has_content_length) {
      return 400;
    }
    if (m_coding_refusal != 0) {
      return m_coding_refusal;
    }
    if (!m_chunked_last) {
      return 400;
    }
  }
  return 0;
}

void RequestHead::Parser::on_request_impl(http::verb method, beast::string_view method_str,
                                          beast::string_view target, int version,
                                          beast::error_code&) {
  RequestHead& o = m_owner;
  o.m_method = method;
  o.m_method_len = method_str.size();
  o.m_target_len = target.size();
  o.m_version = static_cast<unsigned>(version);
  o.m_head += sv(method_str);
  o.m_head += ' ';
  o.m_head += sv(target);
  o.m_head += " HTTP/1.1\r\n"sv;
}

void RequestHead::Parser::on_field_impl(field name, beast::string_view name_string,
                                        beast::string_view value, beast::error_code&) {
  RequestHead& o = m_owner;
  if (hop_by_hop(name)) {
    if (name == field::connection) {
      o.m_connection.add(sv(value));
    }
    return;
  }
  switch (name) {
    case field::host:
      ++o.m_host_fields;
      break;
    case field::content_length:
      o.m_has_content_length = true;
      break;
    case field::transfer_encoding:
      o.transfer_codings(sv(value));
      break;
    default:
      break;
  }
  if (name == field::expect && beast::iequals(value, "100-continue")) {
    o.m_expect_continue = true;  // answered by the proxy itself
    return;
  }
  if (name == field::unknown) {
    if (beast::iequals(name_string, "X-Forwarded-For")) {
      if (!value.empty()) {
        if (o.m_has_forwarded_for) {
          o.m_forwarded_for += ", "sv;
        }
        o.m_forwarded_for += sv(value);
        o.m_has_forwarded_for = true;
      }
      return;
    }
    if (beast::iequals(name_string, "X-Forwarded-Proto")) {
      return;
    }
    if (beast::iequals(name_string, "X-Request-Id")) {
      if (value.empty()) {
        return;
      }
      if (!o.m_has_request_id) {
        o.m_request_id.assign(value.data(), value.size());
        o.m_has_request_id = true;
      }
    }
  }
  append_field(o.m_head, sv(name_string), sv(value));
}

void RequestHead::Parser::on_header_impl(beast::error_code& ec) {
  RequestHead& o = m_owner;
  o.m_refusal = o.judge_head();
  if (o.m_refusal != 0) {
    ec = http::error::bad_value;
    return;
  }
  if (o.m_connection.any()) {
    // The client's fields meant for the proxy alone go no further; the proxy's own
    // X-Forwarded-For and X-Request-Id still do.
    o.m_connection.erase_listed(o.m_head);
    o.m_has_forwarded_for = o.m_has_forwarded_for && !o.m_connection.lists("X-Forwarded-For");
    o.m_has_request_id = o.m_has_request_id && !o.m_connection.lists("X-Request-Id");
  }
  if (o.m_host_fields == 0 && !o.m_authority.empty()) {
    // HTTP/1.0 without Host goes upstream as HTTP/1.1, which requires one.
    append_field(o.m_head, "Host"sv, o.m_authority);
  }
  o.m_head += "X-Forwarded-For: "sv;
  if (o.m_has_forwarded_for) {
    o.m_head += o.m_forwarded_for;
    o.m_head += ", "sv;
  }
  o.m_head += o.m_client;
  o.m_head += "\r\nX-Forwarded-Proto: http\r\n"sv;
  if (!o.m_has_request_id) {
    new_request_id(o.m_request_id);
    append_field(o.m_head, "X-Request-Id"sv, o.m_request_id);
  }
  o.m_head += k_crlf;
}

// --- ResponseHead

void ResponseHead::reset(unsigned client_version, bool head_request) {
  m_client_version = client_version;
  m_head_request = head_request;
  m_body_bytes = 0;
  m_framing = Framing::as_received;
  start_parser();
}

void ResponseHead::start_parser() {
  m_parser.emplace(*this);
  m_parser->header_limit(k_header_limit);
  m_parser->body_limit(std::numeric_limits<std::uint64_t>::max());
  m_parser->skip(m_head_request);
  m_head.clear();
  m_connection.reset();
  m_status = 0;
  m_has_request_id = false;
}

size_t ResponseHead::put(asio::const_buffer in, beast::error_code& ec) {
  size_t total = 0;
  while (true) {
    total += m_parser->put(in + total, ec);
    if (ec || !m_parser->is_header_done()) {
      return total;
    }
    if (m_status / 100 != 1 || m_status == 101) {
      return total;
    }
    start_parser();  // an interim answer (100 Continue, 103 Early Hints): wait for the real one
    if (total == in.size()) {
      ec = http::error::need_more;
      return total;
    }
  }
}

void ResponseHead::Parser::on_response_impl(int code, beast::string_view reason, int,
                                            beast::error_code&) {
  ResponseHead& o = m_owner;
  o.m_status = code;
  o.m_head += o.m_client_version >= 11 ? "HTTP/1.1 "sv : "HTTP/1.0 "sv;
  char digits[8];
  auto [end, err] = std::to_chars(digits, digits + sizeof(digits), code);
  o.m_head.append(digits, end);
  o.m_head += ' ';
  if (reason.empty()) {
    reason = http::obsolete_reason(static_cast<http::status>(code));
  }
  o.m_head += sv(reason);
  o.m_head += k_crlf;
}

void ResponseHead::Parser::on_field_impl(field name, beast::string_view name_string,
                                         beast::string_view value, beast::error_code&) {
  ResponseHead& o = m_owner;
  if (hop_by_hop(name)) {
    if (name == field::connection) {
      o.m_connection.add(sv(value));
    }
    return;
  }
  if (name == field::unknown && beast::iequals(name_string, "X-Request-Id")) {
    o.m_has_request_id = true;
  }
  append_field(o.m_head, sv(name_string), sv(value));
}

void ResponseHead::Parser::on_header_impl(beast::error_code&) {
  ResponseHead& o = m_owner;
  if (o.m_connection.any()) {
    o.m_connection.erase_listed(o.m_head);
    o.m_has_request_id = o.m_has_request_id && !o.m_connection.lists("X-Request-Id");
  }
}

void ResponseHead::finish_head(bool& keep, std::string_view request_id) {
  const bool bodyless = m_head_request || m_status == 204 || m_status == 304;
  const bool chunked = m_parser->chunked();
  if (!bodyless && !chunked && !m_parser->content_length()) {
    // The backend ends the body by closing: re-chunk it for HTTP/1.1 clients so that their
    // connection stays usable; HTTP/1.0 clients read until we close.
    if (m_client_version >= 11) {
      m_framing = Framing::chunk;
      m_head += "Transfer-Encoding: chunked\r\n"sv;
    } else {
      keep = false;
    }
  } else if (m_client_version < 11 && chunked) {
    erase_fields(m_head, "Transfer-Encoding");
    m_framing = bodyless ? Framing::as_received : Framing::dechunk;
    keep = false;
  }
  if (m_client_version >= 11 && !keep) {
    m_head += "Connection: close\r\n"sv;
  } else if (m_client_version < 11 && keep) {
    m_head += "Connection: keep-alive\r\n"sv;
  }
  if (!m_has_request_id) {
    append_field(m_head, "X-Request-Id"sv, request_id);
  }
  m_head += k_crlf;
  m_parser->eager(true);
}

size_t ResponseHead::relay(asio::const_buffer in, std::vector<asio::const_buffer>& out,
                           beast::error_code& ec) {
  m_out = &out;
  m_chunk_at = out.size();
  m_chunk_size = 0;
  size_t n = m_parser->put(in, ec);
  m_out = nullptr;
  if (ec == http::error::need_more) {
    ec = {};
  }
  if (m_framing == Framing::as_received && n > 0) {
    out.emplace_back(in.data(), n);
  } else if (m_framing == Framing::chunk && m_chunk_size > 0) {
    char* p = m_chunk_line;
    p = std::to_chars(p, p + 16, m_chunk_size, 16).ptr;
    *p++ = '\r';
    *p++ = '\n';
    out.insert(out.begin() + static_cast<std::ptrdiff_t>(m_chunk_at),
               asio::const_buffer(m_chunk_line, static_cast<size_t>(p - m_chunk_line)));
    out.emplace_back(k_crlf.data(), k_crlf.size());
  }
  return n;
}

void ResponseHead::relay_eof(std::vector<asio::const_buffer>& out, beast::error_code& ec) {
  m_parser->put_eof(ec);
  if (!ec && m_framing == Framing::chunk) {
    out.emplace_back(k_last_chunk.data(), k_last_chunk.size());
  }
}

void ResponseHead::body_piece(std::string_view piece) {
  m_body_bytes += piece.size();
  if (m_framing != Framing::as_received && !piece.empty()) {
    m_out->emplace_back(piece.data(), piece.size());
    m_chunk_size += piece.size();
  }
}

size_t ResponseHead::Parser::on_body_impl(beast::string_view body, beast::error_code&) {
  m_owner.body_piece(sv(body));
  return body.size();
}

size_t ResponseHead::Parser::on_chunk_body_impl(std::uint64_t, beast::string_view body,
                                                beast::error_code&) {
  m_owner.body_piece(sv(body));
  return body.size();
}

}  // namespace ztp::proxy
