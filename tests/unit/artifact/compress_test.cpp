#include "artifact/compress.hpp"

#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdint>

#include "artifact/descriptor.hpp"
#include "artifact_helpers.hpp"

namespace ztp::artifact {
namespace {

// Text-like bytes, the same on every run, `size` long.
std::string patterned(size_t size) { return test::patterned(size, "<html> lorem ipsum\n"); }

// zlib's own gzip reader, which checks the CRC and the length in the trailer.
std::string inflate_gzip(const std::string& blob) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 16 + 15), Z_OK);
  std::string out;
  char buf[1 << 16];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(blob.data()));
  z.avail_in = static_cast<uInt>(blob.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  }
  EXPECT_EQ(rc, Z_STREAM_END) << "the gzip stream is not whole";
  EXPECT_EQ(z.avail_in, 0u) << "bytes after the gzip member";
  inflateEnd(&z);
  return out;
}

std::string unzstd(const std::string& blob) {
  ZSTD_DCtx* d = ZSTD_createDCtx();
  std::string out;
  std::string buf(ZSTD_DStreamOutSize(), '\0');
  ZSTD_inBuffer in{blob.data(), blob.size(), 0};
  size_t rc = 1;
  while (in.pos < in.size) {
    ZSTD_outBuffer o{buf.data(), buf.size(), 0};
    rc = ZSTD_decompressStream(d, &o, &in);
    EXPECT_FALSE(ZSTD_isError(rc)) << ZSTD_getErrorName(rc);
    if (ZSTD_isError(rc)) {
      break;
    }
    out.append(buf.data(), o.pos);
  }
  EXPECT_EQ(rc, 0u) << "the zstd frame is not whole";
  ZSTD_freeDCtx(d);
  return out;
}

TEST(CompressTest, GzipIsTheSameOnAnyNumberOfCoresAndReadsBack) {
  // Several batches of blocks, and a length that is no multiple of a block.
  const std::string data = patterned(5 * 1024 * 1024 + 12345);
  auto one = compress(Compression::gzip, data, 1);
  ASSERT_TRUE(one.ok()) << one.error().message;
  for (unsigned threads : {2U, 3U, 8U}) {
    auto many = compress(Compression::gzip, data, threads);
    ASSERT_TRUE(many.ok());
    EXPECT_EQ(many.value(), one.value()) << threads << " threads";
  }
  EXPECT_EQ(inflate_gzip(one.value()), data);
  EXPECT_LT(one->size(), data.size() * 6 / 10) << "the blocks are compressed";
}

TEST(CompressTest, GzipOfPiecesEqualsGzipOfTheWhole) {
  const std::string data = patterned(600 * 1024 + 1);
  std::string pieces;
  auto stream = StreamCompressor::create(Compression::gzip, pieces, 2);
  ASSERT_TRUE(stream.ok());
  for (size_t at = 0; at < data.size(); at += 1000) {
    ASSERT_TRUE(stream.value()->write(std::string_view(data).substr(at, 1000)).ok());
  }
  ASSERT_TRUE(stream.value()->finish().ok());
  EXPECT_EQ(pieces, compress(Compression::gzip, data, 1).value());
}

TEST(CompressTest, GzipOfNothingAndOfExactBlocksReadsBack) {
  for (size_t size : {size_t{0}, size_t{128 * 1024}, size_t{256 * 1024}}) {
    const std::string data = patterned(size);
    auto gz = compress(Compression::gzip, data, 2);
    ASSERT_TRUE(gz.ok());
    EXPECT_EQ(inflate_gzip(gz.value()), data) << size << " bytes";
    EXPECT_EQ(gz->substr(4, 4), std::string(4, '\0')) << "mtime is zero";
  }
}

TEST(CompressTest, ZstdIsTheSameOnAnyNumberOfCoresAndReadsBack) {
  const std::string data = patterned(6 * 1024 * 1024 + 7);
  auto one = compress(Compression::zstd, data, 1);
  ASSERT_TRUE(one.ok()) << one.error().message;
  for (unsigned threads : {2U, 4U}) {
    auto many = compress(Compression::zstd, data, threads);
    ASSERT_TRUE(many.ok());
    EXPECT_EQ(many.value(), one.value()) << threads << " threads";
  }
  EXPECT_EQ(unzstd(one.value()), data);
  EXPECT_EQ(unzstd(compress(Compression::zstd, "", 2).value()), "");
}

TEST(CompressTest, NamesAndMediaTypes) {
  EXPECT_EQ(compression_name(Compression::gzip), "gzip");
  EXPECT_EQ(compression_name(Compression::zstd), "zstd");
  EXPECT_STREQ(layer_media_type(Compression::gzip), k_media_layer_gzip);
  EXPECT_STREQ(layer_media_type(Compression::zstd), "application/vnd.oci.image.layer.v1.tar+zstd");
  EXPECT_GE(usable_cores(), 1U);
}

}  // namespace
}  // namespace ztp::artifact
