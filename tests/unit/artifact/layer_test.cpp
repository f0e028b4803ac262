#include "artifact/layer.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <fstream>

#include "artifact/digest.hpp"
#include "artifact/directory_source.hpp"
#include "artifact_helpers.hpp"
#include "support/support.hpp"

namespace ztp::artifact {
namespace {

using test::read_tar;
using test::write_file;

constexpr std::int64_t k_commit_time = 1'714'564'800;  // 2024-05-01T12:00:00Z

Layer layer_of(const std::filesystem::path& dir, std::int64_t mtime = k_commit_time) {
  auto entries = DirectorySource(dir, {}).entries();
  EXPECT_TRUE(entries.ok()) << entries.error().message;
  auto layer = build_layer(entries.value(), mtime);
  EXPECT_TRUE(layer.ok()) << layer.error().message;
  return layer.value();
}

// The same tree, created in a different order, with other times, owners and a umask.
void make_tree(const std::filesystem::path& dir, bool other_way) {
  mode_t old = ::umask(other_way ? 077 : 022);
  if (other_way) {
    write_file(dir / "site/about/index.html", "about");
    write_file(dir / "site/index.html", "<h1>v1</h1>");
    write_file(dir / "bin/start", "#!/bin/sh\nexec nginx\n", 0700);
    std::filesystem::create_symlink("site/index.html", dir / "home.html");
  } else {
    std::filesystem::create_symlink("site/index.html", dir / "home.html");
    write_file(dir / "bin/start", "#!/bin/sh\nexec nginx\n", 0755);
    write_file(dir / "site/index.html", "<h1>v1</h1>", 0664);
    write_file(dir / "site/about/index.html", "about", 0600);
  }
  ::umask(old);
  if (other_way) {
    timeval times[2] = {{1000, 0}, {2000, 5}};
    for (auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      ::lutimes(e.path().c_str(), times);
      if (::geteuid() == 0) {
        EXPECT_EQ(::lchown(e.path().c_str(), 1234, 5678), 0);
      }
    }
  }
}

TEST(LayerTest, SameInputGivesByteIdenticalLayerTwice) {
  testing::TempDir dir;
  make_tree(dir.path(), false);
  Layer a = layer_of(dir.path());
  Layer b = layer_of(dir.path());
  EXPECT_EQ(a.blob, b.blob);
  EXPECT_EQ(a.digest, b.digest);
  EXPECT_EQ(a.diff_id, b.diff_id);
}

TEST(LayerTest, IgnoresOnDiskTimesOwnersUmaskAndCreationOrder) {
  testing::TempDir one;
  testing::TempDir two;
  make_tree(one.path(), false);
  make_tree(two.path(), true);
  Layer a = layer_of(one.path());
  Layer b = layer_of(two.path());
  EXPECT_EQ(a.digest, b.digest);
  EXPECT_EQ(a.diff_id, b.diff_id);
  EXPECT_EQ(a.blob, b.blob);
}

TEST(LayerTest, ChangesWithContentExecBitAndCommitTime) {
  testing::TempDir dir;
  make_tree(dir.path(), false);
  Layer base = layer_of(dir.path());
  EXPECT_NE(layer_of(dir.path(), k_commit_time + 1).digest, base.digest);

  write_file(dir / "site/index.html", "<h1>v2</h1>");
  Layer content = layer_of(dir.path());
  EXPECT_NE(content.digest, base.digest);
  EXPECT_NE(content.diff_id, base.diff_id);

  write_file(dir / "site/index.html", "<h1>v1</h1>", 0644);
  EXPECT_EQ(layer_of(dir.path()).digest, base.digest);
  ::chmod((dir / "site/index.html").c_str(), 0744);
  EXPECT_NE(layer_of(dir.path()).digest, base.digest);
}

TEST(LayerTest, TarHasSortedNormalisedEntriesWithParents) {
  std::vector<FileEntry> entries{
      {"z/deep/file.txt", EntryKind::file, 0600, "deep", ""},
      {"b.sh", EntryKind::file, 0711, "#!/bin/sh\n", ""},
      {"a", EntryKind::dir, 0700, "", ""},
      {"a/link", EntryKind::symlink, 0644, "", "../b.sh"},
  };
  auto layer = build_layer(entries, k_commit_time);
  ASSERT_TRUE(layer.ok()) << layer.error().message;
  auto tar = read_tar(layer->blob);
  std::vector<std::string> paths;
  for (const auto& t : tar) {
    paths.push_back(t.path);
    EXPECT_EQ(t.uid, 0) << t.path;
    EXPECT_EQ(t.gid, 0) << t.path;
    EXPECT_EQ(t.uname, "") << t.path;
    EXPECT_EQ(t.gname, "") << t.path;
    EXPECT_EQ(t.mtime, k_commit_time) << t.path;
    EXPECT_FALSE(t.has_atime) << t.path;
    EXPECT_FALSE(t.has_ctime) << t.path;
  }
  EXPECT_EQ(paths,
            (std::vector<std::string>{"a/", "a/link", "b.sh", "z/", "z/deep/", "z/deep/file.txt"}));
  ASSERT_EQ(tar.size(), 6u);
  EXPECT_EQ(tar[0].mode, 0755u);
  EXPECT_EQ(tar[1].type, static_cast<unsigned>(AE_IFLNK));
  EXPECT_EQ(tar[1].symlink, "../b.sh");
  EXPECT_EQ(tar[2].mode, 0755u);
  EXPECT_EQ(tar[3].mode, 0755u);
  EXPECT_EQ(tar[5].mode, 0644u);
  EXPECT_EQ(tar[5].content, "deep");
  EXPECT_EQ(layer->entries, 6);
}

TEST(LayerTest, DigestsCoverCompressedAndUncompressedBytes) {
  auto layer = build_layer({{"f", EntryKind::file, 0644, "data", ""}}, k_commit_time);
  ASSERT_TRUE(layer.ok());
  EXPECT_EQ(layer->digest, sha256_digest(layer->blob));
  EXPECT_EQ(layer->diff_id, sha256_digest(test::gunzip(layer->blob)));
  Descriptor d = layer->descriptor();
  EXPECT_EQ(d.media_type, k_media_layer_gzip);
  EXPECT_EQ(d.size, static_cast<std::int64_t>(layer->blob.size()));
}

TEST(LayerTest, GzipHeaderCarriesNoTimestampOrName) {
  auto gz = compress(Compression::gzip, "some bytes", 2);
  ASSERT_TRUE(gz.ok());
  const std::string& b = gz.value();
  ASSERT_GE(b.size(), 10u);
  EXPECT_EQ(static_cast<unsigned char>(b[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(b[1]), 0x8b);
  EXPECT_EQ(b[3], 0) << "no FNAME/FCOMMENT/FEXTRA flags";
  EXPECT_EQ(b.substr(4, 4), std::string(4, '\0')) << "mtime is zero";
  EXPECT_EQ(test::gunzip(b), "some bytes");
}

using test::patterned;

// A tree with a file larger than any buffer of the builder, a path too long for ustar, an
// empty file, an executable and a link.
std::vector<FileEntry> golden_entries() {
  return {{"big.bin", EntryKind::file, 0644, patterned(3 * 1024 * 1024 + 17), ""},
          {"bin/start", EntryKind::file, 0755, "#!/bin/sh\nexec nginx\n", ""},
          {"empty", EntryKind::file, 0644, "", ""},
          {std::string(120, 'p') + "/file", EntryKind::file, 0644, "long", ""},
          {"site/index.html", EntryKind::file, 0644, "<h1>v1</h1>", ""},
          {"home.html", EntryKind::symlink, 0777, "", "site/index.html"}};
}

// A layer's digest must not change from one version to the next: images already in stores and
// registries are found again by digest when the same commit is built. (It changed once, when
// layers came to be gzipped block by block on every core; this is the digest since.)
TEST(LayerTest, DigestsOfAKnownTreeNeverChange) {
  const std::string digest =
      "sha256:d083047daed0d62e1b771b9664f70252d50c1738b3683e307d3149a3a1975208";
  const std::string diff_id =
      "sha256:339fa98305a7c31a5b664faf5fa04935499dc1ecc8b775e77c8b9a4734cdc381";
  auto layer = build_layer(golden_entries(), k_commit_time);
  ASSERT_TRUE(layer.ok()) << layer.error().message;
  EXPECT_EQ(layer->digest, digest);
  EXPECT_EQ(layer->diff_id, diff_id);

  // The same tree read from disk.
  testing::TempDir dir;
  for (const auto& e : golden_entries()) {
    if (e.kind == EntryKind::file) {
      write_file(dir / e.path, e.content, e.mode);
    } else {
      std::filesystem::create_symlink(e.link_target, dir / e.path);
    }
  }
  Layer from_disk = layer_of(dir.path());
  EXPECT_EQ(from_disk.digest, digest);
  EXPECT_EQ(from_disk.diff_id, diff_id);

  // The same tree with each file's bytes loaded when the layer wants them (a commit's blobs),
  // each exactly once.
  auto entries = golden_entries();
  int loads = 0;
  for (auto& e : entries) {
    if (e.kind == EntryKind::file) {
      e.load = [bytes = std::move(e.content), &loads]() -> Result<std::string> {
        ++loads;
        return bytes;
      };
      e.content.clear();
    }
  }
  auto loaded = build_layer(entries, k_commit_time);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->digest, digest);
  EXPECT_EQ(loaded->diff_id, diff_id);
  EXPECT_EQ(loads, 5);
}

TEST(LayerTest, AFileThatCannotBeLoadedStopsTheBuildWithItsReason) {
  FileEntry e{"site/index.html", EntryKind::file, 0644, "", ""};
  e.load = []() -> Result<std::string> {
    return make_error(Errc::not_found,
                      "reading \"site/index.html\" (blob 1a2b3c4): object missing");
  };
  auto layer = build_layer({e}, k_commit_time);
  ASSERT_FALSE(layer.ok());
  EXPECT_EQ(layer.error().code, Errc::not_found);
  EXPECT_NE(layer.error().message.find("object missing"), std::string::npos)
      << layer.error().message;
}

// A field of /proc/self/status in KiB ("VmRSS", "VmHWM").
long status_kib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::stol(line.substr(field.size() + 1));
    }
  }
  return -1;
}

TEST(LayerTest, StreamsALargeFileWithBoundedMemory) {
  // 512 MiB of zeros that take no disk (a sparse file); once, the whole file and the whole tar
  // were held in memory, more than 1 GiB for this file.
  constexpr std::int64_t k_size = 512LL << 20;
  testing::TempDir dir;
  write_file(dir / "index.html", "<h1>hi</h1>");
  { std::ofstream(dir / "sparse.bin").flush(); }
  std::filesystem::resize_file(dir / "sparse.bin", k_size);
  auto entries = DirectorySource(dir.path(), {}).entries();
  ASSERT_TRUE(entries.ok()) << entries.error().message;

  // Reset the peak resident size to the current one (Linux 4.0), then read the new peak.
  {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
  }
  long rss_before = status_kib("VmRSS");
  auto layer = build_layer(std::move(entries.value()), k_commit_time);
  long peak = status_kib("VmHWM");
  ASSERT_TRUE(layer.ok()) << layer.error().message;
  ASSERT_GT(rss_before, 0);
  long growth_mib = (peak - rss_before) / 1024;
  EXPECT_LT(growth_mib, 64) << "building a layer of a " << (k_size >> 20)
                            << " MiB file raised peak memory by " << growth_mib << " MiB";
  EXPECT_LT(layer->blob.size(), 4u << 20);
  EXPECT_EQ(layer->digest, sha256_digest(layer->blob));
  EXPECT_EQ(layer->entries, 2);
}

TEST(LayerTest, AFileThatChangedSizeStopsTheBuild) {
  testing::TempDir dir;
  write_file(dir / "log.txt", "short");
  auto entries = DirectorySource(dir.path(), {}).entries();
  ASSERT_TRUE(entries.ok());
  write_file(dir / "log.txt", "longer than it was when listed");
  auto layer = build_layer(entries.value(), k_commit_time);
  ASSERT_FALSE(layer.ok());
  EXPECT_NE(layer.error().message.find("log.txt"), std::string::npos) << layer.error().message;
  EXPECT_NE(layer.error().message.find("changed"), std::string::npos) << layer.error().message;
}

TEST(LayerTest, ANameThatIsNotUtf8IsRefusedWithTheEntryBeforeLibarchiveSeesIt) {
  // libarchive cannot write such a name as a pax path (it crashed on one); the message shows
  // the bad bytes escaped.
  auto layer =
      build_layer({{"bad-\xff\xfe-name.txt", EntryKind::file, 0644, "x", ""}}, k_commit_time);
  ASSERT_FALSE(layer.ok());
  EXPECT_EQ(layer.error().code, Errc::invalid);
  const std::string& m = layer.error().message;
  EXPECT_NE(m.find("entry \"bad-\\xff\\xfe-name.txt\": the name is not valid UTF-8"),
            std::string::npos)
      << m;
  auto link = build_layer({{"ok", EntryKind::symlink, 0777, "", "caf\xc3"}}, k_commit_time);
  ASSERT_FALSE(link.ok());
  EXPECT_NE(link.error().message.find("the symlink target is not valid UTF-8"), std::string::npos)
      << link.error().message;
  // Well-formed UTF-8 of every length is kept.
  EXPECT_TRUE(build_layer({{"caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x93\xa6.txt", EntryKind::file, 0644,
                            "x", ""}},
                          k_commit_time)
                  .ok());
  // Overlong forms and surrogates are not.
  EXPECT_FALSE(build_layer({{"\xc0\xaf", EntryKind::file, 0644, "x", ""}}, k_commit_time).ok());
  EXPECT_FALSE(build_layer({{"\xed\xa0\x80", EntryKind::file, 0644, "x", ""}}, k_commit_time).ok());
}

TEST(LayerTest, RefusesBrokenTrees) {
  auto dup = build_layer(
      {{"a", EntryKind::file, 0644, "1", ""}, {"./a", EntryKind::file, 0644, "2", ""}}, 0);
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("twice"), std::string::npos);

  auto under_file = build_layer(
      {{"a", EntryKind::file, 0644, "1", ""}, {"a/b", EntryKind::file, 0644, "2", ""}}, 0);
  ASSERT_FALSE(under_file.ok());
  EXPECT_NE(under_file.error().message.find("not a directory"), std::string::npos);

  auto escaping = build_layer({{"l", EntryKind::symlink, 0777, "", "../../etc"}}, 0);
  ASSERT_FALSE(escaping.ok());
  EXPECT_EQ(escaping.error().code, Errc::invalid);

  auto dotdot = build_layer({{"../x", EntryKind::file, 0644, "", ""}}, 0);
  ASSERT_FALSE(dotdot.ok());
}

}  // namespace
}  // namespace ztp::artifact
