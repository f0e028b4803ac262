#include "artifact/compress.hpp"

#include <fmt/format.h>
#include <sched.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <optional>
#include <thread>
#include <vector>

#include "artifact/descriptor.hpp"

namespace ztp::artifact {
namespace {

constexpr size_t k_block = 128 * 1024;  // gzip: the input each deflate call gets
constexpr size_t k_window = 32 * 1024;  // deflate's window: a block's dictionary
constexpr size_t k_batch_per_thread = 8;

void put_le32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xffU));
  }
}

// One deflate stream reused for many blocks (deflateReset between them).
class Deflater {
 public:
  Deflater() { m_ok = deflateInit2(&m_z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK; }
  ~Deflater() {
    if (m_ok) {
      deflateEnd(&m_z);
    }
  }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  // Raw deflate of `block` primed with `dict` into `out` (its capacity reused); ends on a byte
  // boundary (a sync flush), or with the final block when `last`.
  Result<void> run(std::string_view dict, std::string_view block, bool last, std::string& out) {
    if (!m_ok || deflateReset(&m_z) != Z_OK) {
      return make_error(Errc::internal, "gzip compression failed: zlib could not start");
    }
    if (!dict.empty() && deflateSetDictionary(&m_z, reinterpret_cast<const Bytef*>(dict.data()),
                                              static_cast<uInt>(dict.size())) != Z_OK) {
      return make_error(Errc::internal, "gzip compression failed: zlib refused the dictionary");
    }
    out.resize(deflateBound(&m_z, block.size()) + 16);
    m_z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(block.data()));
    m_z.avail_in = static_cast<uInt>(block.size());
    m_z.next_out = reinterpret_cast<Bytef*>(out.data());
    m_z.avail_out = static_cast<uInt>(out.size());
    int rc = deflate(&m_z, last ? Z_FINISH : Z_SYNC_FLUSH);
    if ((last && rc != Z_STREAM_END) || (!last && rc != Z_OK) || m_z.avail_in != 0) {
      return make_error(Errc::internal, fmt::format("gzip compression failed: zlib said {}", rc));
    }
    out.resize(out.size() - m_z.avail_out);
    return {};
  }

 private:
  z_stream m_z{};
  bool m_ok = false;
};

// The buffers of one batch are allocated once and reused, so that memory stays flat however
// large the input.
class ParallelGzip final : public StreamCompressor {
 public:
  ParallelGzip(std::string& out, unsigned threads)
      : m_out(out),
        m_threads(std::max(1U, threads)),
        m_deflaters(m_threads),
        m_blocks(m_threads * k_batch_per_thread + 1),
        m_outs(m_blocks.size()),
        m_errors(m_blocks.size()) {
    // The member header: magic, deflate, no flags, mtime 0, no extra flags, OS 3 (Unix).
    static constexpr char k_header[] = {'\x1f', '\x8b', '\x08', 0, 0, 0, 0, 0, 0, '\x03'};
    m_out.append(k_header, sizeof k_header);
    for (auto& b : m_blocks) {
      b.reserve(k_block);
    }
    m_dict.reserve(k_window);
  }

  Result<void> write(std::string_view bytes) override {
    m_crc = crc32_z(m_crc, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size());
    m_size += bytes.size();
    while (!bytes.empty()) {
      std::string& current = m_blocks[m_filled];
      size_t n = std::min(bytes.size(), k_block - current.size());
      current.append(bytes.data(), n);
      bytes.remove_prefix(n);
      if (current.size() == k_block && ++m_filled == m_blocks.size() - 1) {
        ZTP_TRY(compress_blocks(m_filled, false));
      }
    }
    return {};
  }

  Result<void> finish() override {
    // The block being filled, possibly empty, ends the stream: the block layout, and so the
    // bytes, depend only on the input's length.
    ZTP_TRY(compress_blocks(m_filled + 1, true));
    put_le32(m_out, static_cast<std::uint32_t>(m_crc));
    put_le32(m_out, static_cast<std::uint32_t>(m_size & 0xffffffffU));
    return {};
  }

 private:
  // Compresses the first `n` blocks on up to m_threads threads and appends them in order; the
  // last of them ends the stream when `last`.
  Result<void> compress_blocks(size_t n, bool last) {
    auto dict_of = [&](size_t i) -> std::string_view {
      std::string_view prev = i == 0 ? std::string_view(m_dict) : std::string_view(m_blocks[i - 1]);
      return prev.substr(prev.size() - std::min(prev.size(), k_window));
    };
    auto work = [&](unsigned t) {
      for (size_t i = t; i < n; i += m_threads) {
        auto r = m_deflaters[t].run(dict_of(i), m_blocks[i], last && i + 1 == n, m_outs[i]);
        m_errors[i] = r.ok() ? std::nullopt : std::optional<Error>(r.take_error());
      }
    };
    unsigned used = static_cast<unsigned>(std::min<size_t>(m_threads, n));
    if (used <= 1) {
      work(0);
    } else {
      std::vector<std::jthread> pool;
      pool.reserve(used);
      for (unsigned t = 0; t < used; ++t) {
        pool.emplace_back(work, t);
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (m_errors[i]) {
        return *m_errors[i];
      }
      m_out += m_outs[i];
    }
    std::string_view tail(m_blocks[n - 1]);
    m_dict.assign(tail.substr(tail.size() - std::min(tail.size(), k_window)));
    for (size_t i = 0; i < n; ++i) {
      m_blocks[i].clear();  // keeps its capacity
    }
    m_filled = 0;
    return {};
  }

  std::string& m_out;
  unsigned m_threads;
  std::vector<Deflater> m_deflaters;  // one per thread
  std::vector<std::string> m_blocks;  // a batch of input blocks, the last one being filled
  size_t m_filled = 0;                // full blocks at the front of m_blocks
  std::vector<std::string> m_outs;    // each block's deflate output
  std::vector<std::optional<Error>> m_errors;
  std::string m_dict;  // the tail of the last block compressed
  uLong m_crc = crc32_z(0, nullptr, 0);
  std::uint64_t m_size = 0;
};

struct CctxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};

class ZstdStream final : public StreamCompressor {
 public:
  explicit ZstdStream(std::string& out) : m_out(out), m_cctx(ZSTD_createCCtx()) {}

  Result<void> start(unsigned threads) {
    if (!m_cctx) {
      return make_error(Errc::internal, "zstd compression failed: out of memory");
    }
    // At least one worker: libzstd's output is the same for any number of workers, but not the
    // same as its single-threaded mode's.
    for (auto [param, value] : {std::pair{ZSTD_c_compressionLevel, 3},
                                {ZSTD_c_checksumFlag, 1},
                                {ZSTD_c_nbWorkers, static_cast<int>(std::max(1U, threads))}}) {
      size_t rc = ZSTD_CCtx_setParameter(m_cctx.get(), param, value);
      if (ZSTD_isError(rc)) {
        return make_error(Errc::internal,
                          fmt::format("zstd compression failed: {} (libzstd without threads?)",
                                      ZSTD_getErrorName(rc)));
      }
    }
    return {};
  }

  Result<void> write(std::string_view bytes) override { return pump(bytes, ZSTD_e_continue); }
  Result<void> finish() override { return pump({}, ZSTD_e_end); }

 private:
  Result<void> pump(std::string_view bytes, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
    std::string buf(ZSTD_CStreamOutSize(), '\0');
    for (;;) {
      ZSTD_outBuffer out{buf.data(), buf.size(), 0};
      size_t left = ZSTD_compressStream2(m_cctx.get(), &out, &in, mode);
      if (ZSTD_isError(left)) {
        return make_error(Errc::internal,
                          fmt::format("zstd compression failed: {}", ZSTD_getErrorName(left)));
      }
      m_out.append(buf.data(), out.pos);
      bool done = mode == ZSTD_e_end ? left == 0 : in.pos == in.size;
      if (done) {
        return {};
      }
    }
  }

  std::string& m_out;
  std::unique_ptr<ZSTD_CCtx, CctxFree> m_cctx;
};

}  // namespace

std::string_view compression_name(Compression c) {
  return c == Compression::zstd ? "zstd" : "gzip";
}

const char* layer_media_type(Compression c) {
  return c == Compression::zstd ? k_media_layer_zstd : k_media_layer_gzip;
}

unsigned usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    return std::max(1, CPU_COUNT(&set));
  }
  return std::max(1U, std::thread::hardware_concurrency());
}

Result<std::unique_ptr<StreamCompressor>> StreamCompressor::create(Compression c, std::string& out,
                                                                   unsigned threads) {
  if (c == Compression::zstd) {
    auto z = std::make_unique<ZstdStream>(out);
    ZTP_TRY(z->start(threads));
    return std::unique_ptr<StreamCompressor>(std::move(z));
  }
  return std::unique_ptr<StreamCompressor>(std::make_unique<ParallelGzip>(out, threads));
}

Result<std::string> compress(Compression c, std::string_view data, unsigned threads) {
  std::string out;
  ZTP_ASSIGN_OR_RETURN(auto stream, StreamCompressor::create(c, out, threads));
  ZTP_TRY(stream->write(data));
  ZTP_TRY(stream->finish());
  return out;
}

}  // namespace ztp::artifact
