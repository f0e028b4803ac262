#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/verb.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/connection_options.hpp"

namespace ztp::proxy {

// Replaces `out` with a new request id: 32 lowercase hex digits (no allocation once `out` has
// the capacity).
void new_request_id(std::string& out);

// Reads one client request with Beast's parser and writes, while parsing, the head the proxy
// sends upstream: the request line as HTTP/1.1; every field but the hop-by-hop ones
// (Connection, Keep-Alive, Proxy-Connection, TE, Upgrade), X-Forwarded-Proto and
// Expect: 100-continue; then Host for an HTTP/1.0 request that sent none, X-Forwarded-For (the
// client's list, the peer appended), X-Forwarded-Proto: http and X-Request-Id (the client's,
// or a new one). The body is not decoded: the bytes put() consumes after the head go upstream
// as received, so a Content-Length or chunked body keeps its framing. A head whose framing or
// Host could be read otherwise by the backend is refused (refusal()). One per connection,
// reset() per request: its strings keep their capacity, so a request allocates nothing.
// The fields Connection names are hop-by-hop too (ConnectionOptions).
class RequestHead {
 public:
  // Begins the next request of a connection from the peer address `client`; `authority` (the
  // listener's host:port) becomes the Host of an HTTP/1.0 request that sent none.
  void reset(std::string_view client, std::string_view authority = {});
  // Parses `in`; returns the bytes consumed (the head once complete, then body bytes).
  // need_more: the head is incomplete, put it again with more bytes appended. Any other error:
  // the request is refused, with the status refusal() gives. Not to be called once done().
  size_t put(boost::asio::const_buffer in, boost::beast::error_code& ec);
  // After put() failed: the status to answer before closing the connection. 400 for a
  // malformed head, a Transfer-Encoding whose last coding is not chunked (or any in HTTP/1.0),
  // one with Content-Length, an HTTP/1.1 request without Host, two Host fields; 501 for a
  // transfer coding other than chunked; 405 for CONNECT (RFC 9112 sections 3.2, 6.1, 6.3).
  int refusal() const { return m_refusal; }

  bool header_done() const { return m_parser->is_header_done(); }
  // The head and the whole body were consumed.
  bool done() const { return m_parser->is_done(); }
  // The head was consumed (header_done()).
  boost::beast::http::verb method() const { return m_method; }
  std::string_view method_string() const {
    return std::string_view(m_head).substr(0, m_method_len);
  }
  std::string_view target() const {
    return std::string_view(m_head).substr(m_method_len + 1, m_target_len);
  }
  unsigned version() const { return m_version; }
  bool keep_alive() const { return m_parser->keep_alive(); }
  bool expects_continue() const { return m_expect_continue; }
  // The head to send upstream, complete once header_done().
  const std::string& upstream_head() const { return m_head; }
  const std::string& request_id() const { return m_request_id; }

 private:
  class Parser final : public boost::beast::http::basic_parser<true> {
   public:
    explicit Parser(RequestHead& owner) : m_owner(owner) {}

   private:
    void on_request_impl(boost::beast::http::verb method, boost::beast::string_view method_str,
                         boost::beast::string_view target, int version,
                         boost::beast::error_code& ec) override;
    void on_response_impl(int, boost::beast::string_view, int, boost::beast::error_code&) override {
    }
    void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                       boost::beast::string_view value, boost::beast::error_code& ec) override;
    void on_header_impl(boost::beast::error_code& ec) override;
    void on_body_init_impl(const boost::optional<std::uint64_t>&,
                           boost::beast::error_code&) override {}
    size_t on_body_impl(boost::beast::string_view body, boost::beast::error_code&) override {
      return body.size();
    }
    void on_chunk_header_impl(std::uint64_t, boost::beast::string_view,
                              boost::beast::error_code&) override {}
    size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                              boost::beast::error_code&) override {
      return body.size();
    }
    void on_finish_impl(boost::beast::error_code&) override {}

    RequestHead& m_owner;
  };

  // Notes the codings of one Transfer-Encoding field.
  void transfer_codings(std::string_view value);
  // 0 when the complete head may be forwarded, else the status to refuse it with.
  int judge_head() const;

  std::optional<Parser> m_parser;
  std::string m_head;
  ConnectionOptions m_connection;
  std::string m_request_id;
  std::string m_forwarded_for;  // the client's X-Forwarded-For fields, joined
  std::string_view m_client;
  std::string_view m_authority;
  boost::beast::http::verb m_method = boost::beast::http::verb::unknown;
  size_t m_method_len = 0;
  size_t m_target_len = 0;
  unsigned m_version = 11;
  bool m_has_forwarded_for = false;
  bool m_has_request_id = false;
  bool m_expect_continue = false;
  unsigned m_host_fields = 0;
  bool m_has_content_length = false;
  bool m_has_transfer_encoding = false;
  bool m_chunked_last = false;  // the last transfer coding so far is chunked
  int m_coding_refusal = 0;     // 400 or 501 for the transfer codings seen so far
  int m_refusal = 0;
};

// How a response body goes to the client.
enum class Framing {
  as_received,  // Content-Length, chunked, or until the backend closes: bytes relayed unchanged
  chunk,        // the backend ends the body by closing: re-chunked for an HTTP/1.1 client
  dechunk,      // chunked, but the client speaks HTTP/1.0: decoded, ended by closing
};

// Reads a backend's response with Beast's parser and writes, while parsing, the head the
// client gets: the status line in the client's HTTP version and every field but the hop-by-hop
// ones. finish_head() completes it (framing, Connection, X-Request-Id); relay() then turns
// body bytes into what the client gets. Informational (1xx) answers are skipped: put() resets
// itself after one. One per connection, reset() per request; buffers keep their capacity.
// The fields Connection names are hop-by-hop too (ConnectionOptions).
class ResponseHead {
 public:
  // Begins reading the answer to a request of HTTP version `client_version` (10 or 11);
  // `head_request`: it was a HEAD request, so no body follows the head.
  void reset(unsigned client_version, bool head_request);
  // Parses head bytes of `in`, skipping 1xx answers (but 101); returns the bytes consumed.
  // need_more: the head is incomplete. Not to be called once header_done().
  size_t put(boost::asio::const_buffer in, boost::beast::error_code& ec);

  bool header_done() const { return m_parser->is_header_done(); }
  bool done() const { return m_parser->is_done(); }
  // The head was consumed (header_done()).
  int status() const { return m_status; }
  // The backend keeps the connection open after this response.
  bool backend_keep_alive() const { return m_parser->keep_alive(); }

  // Completes the client's head: picks the framing, adds Transfer-Encoding: chunked when
  // re-chunking, the Connection field for `keep` (cleared when the framing needs a close), and
  // X-Request-Id: `request_id` unless the backend set one.
  void finish_head(bool& keep, std::string_view request_id);
  const std::string& client_head() const { return m_head; }
  Framing framing() const { return m_framing; }

  // Parses body bytes of `in` and appends to `out` what the client gets for them (slices of
  // `in` and chunk framing owned by this object, valid until the next call); returns the bytes
  // consumed. Not to be called once done().
  size_t relay(boost::asio::const_buffer in, std::vector<boost::asio::const_buffer>& out,
               boost::beast::error_code& ec);
  // The backend closed the connection: completes a body delimited by the close (appending
  // the last chunk when re-chunking); partial_message when the body was cut.
  void relay_eof(std::vector<boost::asio::const_buffer>& out, boost::beast::error_code& ec);
  // Body bytes relayed so far (decoded, without chunk framing).
  uint64_t body_bytes() const { return m_body_bytes; }

 private:
  class Parser final : public boost::beast::http::basic_parser<false> {
   public:
    explicit Parser(ResponseHead& owner) : m_owner(owner) {}

   private:
    void on_request_impl(boost::beast::http::verb, boost::beast::string_view,
                         boost::beast::string_view, int, boost::beast::error_code&) override {}
    void on_response_impl(int code, boost::beast::string_view reason, int version,
                          boost::beast::error_code& ec) override;
    void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                       boost::beast::string_view value, boost::beast::error_code& ec) override;
    void on_header_impl(boost::beast::error_code& ec) override;
    void on_body_init_impl(const boost::optional<std::uint64_t>&,
                           boost::beast::error_code&) override {}
    size_t on_body_impl(boost::beast::string_view body, boost::beast::error_code& ec) override;
    void on_chunk_header_impl(std::uint64_t, boost::beast::string_view,
                              boost::beast::error_code&) override {}
    size_t on_chunk_body_impl(std::uint64_t remain, boost::beast::string_view body,
                              boost::beast::error_code& ec) override;
    void on_finish_impl(boost::beast::error_code&) override {}

    ResponseHead& m_owner;
  };

  void start_parser();
  void body_piece(std::string_view piece);

  std::optional<Parser> m_parser;
  std::string m_head;
  ConnectionOptions m_connection;
  std::vector<boost::asio::const_buffer>* m_out = nullptr;  // during relay()
  size_t m_chunk_at = 0;                                    // where relay() began appending
  uint64_t m_chunk_size = 0;
  uint64_t m_body_bytes = 0;
  char m_chunk_line[24] = {};
  unsigned m_client_version = 11;
  bool m_head_request = false;
  int m_status = 0;
  bool m_has_request_id = false;
  Framing m_framing = Framing::as_received;
};

}  // namespace ztp::proxy
