#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace ztp::artifact {

// How a layer's tar is compressed (build.compression).
enum class Compression { gzip, zstd };

// How a layer is compressed.
struct LayerOptions {
  Compression compression = Compression::gzip;
  unsigned threads = 0;  // cores to compress on; 0: every core this process may use
};

// "gzip" / "zstd".
std::string_view compression_name(Compression c);
// The OCI layer media type of a tar compressed with `c`.
const char* layer_media_type(Compression c);

// The number of cores this process may run on (its CPU affinity, so `taskset` limits it); at
// least 1.
unsigned usable_cores();

// Compresses a stream fed in pieces into one deterministic blob appended to a string, on up to
// `threads` cores. The bytes depend only on the input and the format, never on `threads`:
//  - gzip: the input is cut into 128 KiB blocks, each deflated (level 6) with the previous
//    block's last 32 KiB as its dictionary and ended on a byte boundary, as pigz does; the
//    blocks are joined into one gzip member with no timestamp, no file name and OS byte Unix.
//    Any gzip reader reads it; it is a few per cent larger than one serial deflate stream.
//  - zstd: one frame at level 3 with a content checksum, compressed by libzstd's workers (whose
//    output is the same for any number of workers).
class StreamCompressor {
 public:
  virtual ~StreamCompressor() = default;
  virtual Result<void> write(std::string_view bytes) = 0;
  // Ends the stream; no write after it.
  virtual Result<void> finish() = 0;

  static Result<std::unique_ptr<StreamCompressor>> create(Compression c, std::string& out,
                                                          unsigned threads);
};

// Compresses `data` in one call.
Result<std::string> compress(Compression c, std::string_view data, unsigned threads);

}  // namespace ztp::artifact
