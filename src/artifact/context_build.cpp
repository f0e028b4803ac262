#include "artifact/context_build.hpp"

#include <fmt/format.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <set>

#include "artifact/digest.hpp"
#include "artifact/dockerfile.hpp"
#include "artifact/image_index.hpp"
#include "artifact/unpack.hpp"
#include "sys/process.hpp"
#include "util/fs.hpp"
#include "util/glob.hpp"

namespace ztp::artifact {
namespace {

using Tree = std::map<std::string, FileEntry>;

// A FileSource over entries already listed.
class EntriesSource final : public FileSource {
 public:
  EntriesSource(std::vector<FileEntry> entries, std::string what)
      : m_entries(std::move(entries)), m_what(std::move(what)) {}
  Result<std::vector<FileEntry>> entries() const override { return m_entries; }
  std::string describe() const override { return m_what; }

 private:
  std::vector<FileEntry> m_entries;
  std::string m_what;
};

// `path` with a leading "/" or "./" and a trailing "/" removed; "" for the root.
std::string strip_path(std::string_view path) {
  std::string p(path);
  while (p.rfind("./", 0) == 0) {
    p.erase(0, 2);
  }
  while (!p.empty() && p.front() == '/') {
    p.erase(0, 1);
  }
  while (!p.empty() && p.back() == '/') {
    p.pop_back();
  }
  return p == "." ? "" : p;
}

bool has_glob(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

std::string base_name(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string join(const std::string& dir, const std::string& rel) {
  if (dir.empty()) {
    return rel;
  }
  return rel.empty() ? dir : dir + "/" + rel;
}

// The entries one COPY line puts into its stage, from the tree `from` (the context, or an
// earlier stage's files).
Result<std::vector<FileEntry>> resolve_copy(const dockerfile::Copy& c, const Tree& from,
                                            std::string_view from_what, std::string_view file) {
  const bool many = c.sources.size() > 1;
  const bool dest_dir_written = !c.dest.empty() && c.dest.back() == '/';
  const std::string dest = strip_path(c.dest);
  std::vector<FileEntry> out;
  auto place = [&](FileEntry e, std::string path) {
    e.path = std::move(path);
    if (c.uid) {
      e.uid = *c.uid;
      e.gid = c.gid.value_or(*c.uid);
    }
    if (c.chmod && e.kind != EntryKind::symlink) {
      e.mode = *c.chmod;
      e.exact_mode = true;
    }
    out.push_back(std::move(e));
  };
  for (const auto& raw : c.sources) {
    const std::string src = strip_path(raw);
    std::vector<std::string> matched;
    if (has_glob(src)) {
      for (const auto& [path, _] : from) {
        if (glob_match(src, path)) {
          matched.push_back(path);
        }
      }
    } else if (src.empty() || from.count(src) != 0) {
      matched.push_back(src);
    }
    if (matched.empty()) {
      return make_error(Errc::invalid,
                        fmt::format("{}:{}: COPY source `{}` matches nothing in {}; check the path "
                                    "(and that .dockerignore or build.exclude do not leave it out)",
                                    file, c.line, raw, from_what));
    }
    const bool into_dir = many || dest_dir_written || has_glob(src) || dest.empty();
    for (const auto& m : matched) {
      const bool is_dir = m.empty() || from.at(m).kind == EntryKind::dir;
      if (!is_dir) {
        place(from.at(m), into_dir ? join(dest, base_name(m)) : dest);
        continue;
      }
      // A directory: its contents go into the destination, as Docker copies them.
      if (!dest.empty()) {
        FileEntry d;
        d.kind = EntryKind::dir;
        d.mode = 0755;
        place(std::move(d), dest);
      }
      const std::string prefix = m.empty() ? "" : m + "/";
      for (auto it = from.lower_bound(prefix); it != from.end(); ++it) {
        if (it->first.compare(0, prefix.size(), prefix) != 0) {
          break;
        }
        place(it->second, join(dest, it->first.substr(prefix.size())));
      }
    }
  }
  return out;
}

// What the chain of stages ending in one stage makes: the external base at its bottom (none:
// scratch), its files, and its config changes, bottom stage first.
struct StageChain {
  std::optional<int> external;  // index of the stage whose FROM names an image
  std::vector<int> stages;      // bottom first
};

StageChain chain_of(const dockerfile::Plan& plan, int index) {
  StageChain c;
  for (std::optional<int> i = index; i; i = plan.stages[*i].base_stage) {
    c.stages.insert(c.stages.begin(), *i);
    if (!plan.stages[*i].base_stage && plan.stages[*i].base != "scratch") {
      c.external = *i;
    }
  }
  return c;
}

// The file `path` of a stage's file system as ztp knows it: what the COPY lines of its chain
// put there (`files`), else the topmost layer of its base image that has it; nullopt when none.
Result<std::optional<std::string>> stage_file(const Tree& files, const BaseImage* base,
                                              const OciLayoutStore& store,
                                              const std::string& path) {
  if (auto it = files.find(path); it != files.end() && it->second.kind == EntryKind::file) {
    ZTP_ASSIGN_OR_RETURN(auto text, entry_bytes(it->second));
    return std::optional<std::string>(std::move(text));
  }
  if (base == nullptr) {
    return std::optional<std::string>();
  }
  for (auto layer = base->layers.rbegin(); layer != base->layers.rend(); ++layer) {
    ZTP_ASSIGN_OR_RETURN(auto blob, store.read_blob(layer->descriptor.digest));
    ZTP_ASSIGN_OR_RETURN(auto text, read_layer_file(blob, path));
    if (text) {
      return text;
    }
  }
  return std::optional<std::string>();
}

// The id of `name` in /etc/passwd or /etc/group text (field 3: the uid or the gid).
std::optional<std::uint32_t> id_in(const std::optional<std::string>& table, std::string_view name) {
  if (!table) {
    return std::nullopt;
  }
  std::string_view rest = *table;
  while (!rest.empty()) {
    size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? "" : rest.substr(end + 1);
    std::vector<std::string_view> fields;
    for (size_t at = 0; fields.size() < 4;) {
      size_t colon = line.find(':', at);
      fields.push_back(line.substr(at, colon == std::string_view::npos ? colon : colon - at));
      if (colon == std::string_view::npos) {
        break;
      }
      at = colon + 1;
    }
    if (fields.size() >= 3 && fields[0] == name) {
      std::uint32_t id = 0;
      auto [p, ec] = std::from_chars(fields[2].data(), fields[2].data() + fields[2].size(), id);
      if (ec == std::errc() && p == fields[2].data() + fields[2].size()) {
        return id;
      }
    }
  }
  return std::nullopt;
}

// Sets the numeric owner of a `--chown=USER[:GROUP]` that names a user or group, from the
// /etc/passwd and /etc/group of the stage it copies into. A user alone means that user's uid
// for the group too, as Docker has it.
Result<void> resolve_owner(dockerfile::Copy& c, const Tree& files, const BaseImage* base,
                           const OciLayoutStore& store, std::string_view file) {
  std::string_view chown = c.chown;
  size_t colon = chown.find(':');
  std::string_view user = chown.substr(0, colon);
  std::string_view group = colon == std::string_view::npos ? "" : chown.substr(colon + 1);
  auto numeric = [](std::string_view v) -> std::optional<std::uint32_t> {
    std::uint32_t id = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), id);
    return ec == std::errc() && p == v.data() + v.size() ? std::optional(id) : std::nullopt;
  };
  auto lookup = [&](std::string_view name, const std::string& table,
                    std::string_view what) -> Result<std::uint32_t> {
    if (auto id = numeric(name)) {
      return *id;
    }
    auto text = stage_file(files, base, store, table);
    if (!text.ok()) {
      return make_error(text.error().code,
                        fmt::format("{}:{}: --chown={}: reading /{}: {}", file, c.line, c.chown,
                                    table, text.error().message));
    }
    if (auto id = id_in(*text, name)) {
      return *id;
    }
    return make_error(Errc::invalid,
                      fmt::format("{}:{}: --chown={}: the image has no {} \"{}\" in /{}; write "
                                  "a numeric owner (--chown=101:101) or copy onto a base that "
                                  "defines it",
                                  file, c.line, c.chown, what, name, table));
  };
  ZTP_ASSIGN_OR_RETURN(std::uint32_t uid, lookup(user, "etc/passwd", "user"));
  c.uid = uid;
  if (group.empty()) {
    c.gid = uid;
  } else {
    ZTP_ASSIGN_OR_RETURN(std::uint32_t gid, lookup(group, "etc/group", "group"));
    c.gid = gid;
  }
  return {};
}

// Applies a stage's config changes to the build inputs, as a Dockerfile stacks them.
void apply_changes(const dockerfile::ConfigChanges& ch, ImageSpecInputs& in) {
  if (ch.entrypoint) {
    in.entrypoint = *ch.entrypoint;
    if (!ch.cmd) {
      in.cmd.clear();  // a new entrypoint drops the Cmd it inherited
    }
  }
  if (ch.cmd) {
    in.cmd = *ch.cmd;
  }
  for (const auto& [k, v] : ch.env) {
    in.env[k] = v;
  }
  for (const auto& [k, v] : ch.labels) {
    in.labels[k] = v;
  }
  for (const auto& p : ch.exposed_ports) {
    in.exposed_ports.push_back(p);
  }
  if (ch.working_dir) {
    in.working_dir = *ch.working_dir;
  }
  if (ch.user) {
    in.user = *ch.user;
  }
  if (ch.stop_signal) {
    in.stop_signal = *ch.stop_signal;
  }
  if (ch.healthcheck) {
    in.healthcheck = *ch.healthcheck;
  }
}

// Puts `base` below `in`: its layers, config and history, and the annotations naming it.
void set_base(const BaseImage& base, ImageSpecInputs& in) {
  in.base_layers = base.layers;
  in.base_config = base.config.config;
  in.base_history = base.config.history;
  in.base_name = base.name;
  in.base_digest = base.digest;
}

Result<Platform> platform_of(const spec::Build& build, const ContextBuildOptions& opts) {
  if (opts.platform) {
    return *opts.platform;
  }
  if (!build.platforms.empty()) {
    return parse_platform(build.platforms.front());
  }
  return host_platform();
}

std::vector<FileEntry> context_entries_of(const Tree& context) {
  std::vector<FileEntry> out;
  out.reserve(context.size());
  for (const auto& [_, e] : context) {
    out.push_back(e);
  }
  return out;
}

// A Dockerfile build handed to buildah, for the instructions that need a runtime (RUN).
struct BuildahJob {
  std::string buildah;
  const spec::Spec& spec;
  std::string dockerfile;       // its path in the context, for messages
  std::string dockerfile_text;  // written beside the context: .dockerignore may leave it out
  std::map<std::string, std::string> args;
  Platform platform;
  const ImageSpecInputs& in;
  const std::vector<std::string>& tags;
  bool insecure = false;  // a base on a loopback registry, spoken to over http
};

// Writes `entries` below `dir`, as the build context buildah reads.
Result<void> write_context(const std::vector<FileEntry>& entries,
                           const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  for (const auto& e : entries) {
    auto path = dir / e.path;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (e.kind == EntryKind::dir) {
      std::filesystem::create_directories(path, ec);
    } else if (e.kind == EntryKind::symlink) {
      std::filesystem::create_symlink(e.link_target, path, ec);
    } else if (!e.source_file.empty()) {
      std::filesystem::copy_file(e.source_file, path,
                                 std::filesystem::copy_options::overwrite_existing, ec);
    } else {
      ZTP_ASSIGN_OR_RETURN(auto bytes, entry_bytes(e));
      ZTP_TRY(fs::atomic_write(path, bytes, (e.mode & 0111) != 0 ? 0755 : 0644));
    }
    if (ec) {
      return make_error(Errc::internal, fmt::format("cannot write the build context for buildah "
                                                    "at {}: {}",
                                                    path.string(), ec.message()));
    }
  }
  return {};
}

// Runs buildah, with its output kept for the message when it fails.
Result<void> run_buildah(const BuildahJob& job, std::vector<std::string> args,
                         const std::filesystem::path& cwd, std::chrono::minutes timeout) {
  sys::SpawnOptions opts;
  opts.argv.push_back(job.buildah);
  opts.argv.insert(opts.argv.end(), args.begin(), args.end());
  opts.workdir = cwd;
  auto ran = sys::run_captured(opts, timeout);
  if (!ran.ok()) {
    return make_error(Errc::unavailable,
                      fmt::format("buildah cannot be run: {}", ran.error().message));
  }
  if (ran->timed_out || !WIFEXITED(ran->wait_status) || WEXITSTATUS(ran->wait_status) != 0) {
    std::string err = ran->err.empty() ? ran->out : ran->err;
    if (err.size() > 2000) {
      err = "..." + err.substr(err.size() - 2000);
    }
    return make_error(Errc::invalid,
                      fmt::format("{}: `buildah {}` {}:\n{}", job.dockerfile, args.front(),
                                  ran->timed_out ? "timed out" : "failed", err));
  }
  return {};
}

// Builds with buildah (its own isolation runs the RUN lines), then brings the image into the
// store like a base image and tags it. The spec's command, env and port are not merged in:
// the Dockerfile is built as it is written, with ztp's labels and annotations added.
Result<BuiltImage> build_with_buildah(const BuildahJob& job, std::vector<FileEntry> entries,
                                      OciLayoutStore& store) {
  auto work =
      store.root().parent_path() / "tmp" / fmt::format("buildah-{}", static_cast<long>(::getpid()));
  std::error_code ec;
  std::filesystem::remove_all(work, ec);
  struct Cleanup {
    std::filesystem::path dir;
    ~Cleanup() {
      std::error_code e;
      std::filesystem::remove_all(dir, e);
    }
  } cleanup{work};
  ZTP_TRY(write_context(entries, work / "context"));
  ZTP_TRY(fs::atomic_write(work / "Dockerfile", job.dockerfile_text, 0644));
  std::vector<std::string> bud{"bud",         "--quiet",
                               "--format",    "oci",
                               "--timestamp", std::to_string(job.in.created),
                               "--platform",  job.platform.str(),
                               "--iidfile",   (work / "iid").string(),
                               "-f",          (work / "Dockerfile").string()};
  if (job.insecure) {
    bud.push_back("--tls-verify=false");
  }
  for (const auto& [k, v] : job.args) {
    bud.push_back("--build-arg");
    bud.push_back(k + "=" + v);
  }
  auto labels = job.in.labels;
  for (const auto& [k, v] : oci_annotations(job.in)) {
    labels[k] = v;
    bud.push_back("--annotation");
    bud.push_back(k + "=" + v);
  }
  for (const auto& [k, v] : labels) {
    bud.push_back("--label");
    bud.push_back(k + "=" + v);
  }
  bud.push_back((work / "context").string());
  ZTP_TRY(run_buildah(job, bud, job.spec.base_dir(), std::chrono::minutes(30)));
  ZTP_ASSIGN_OR_RETURN(auto iid, fs::read_file(work / "iid"));
  iid = iid.substr(0, iid.find('\n'));
  auto pushed = run_buildah(
      job, {"push", "--quiet", iid, fmt::format("oci:{}:image", (work / "out").string())},
      job.spec.base_dir(), std::chrono::minutes(10));
  (void)run_buildah(job, {"rmi", iid}, job.spec.base_dir(), std::chrono::minutes(1));
  ZTP_TRY(pushed);
  BaseRef out_ref;
  out_ref.kind = BaseRef::Kind::layout;
  out_ref.text = fmt::format("{} (built by buildah)", job.dockerfile);
  out_ref.layout = work / "out";
  out_ref.layout_ref = "image";
  ZTP_ASSIGN_OR_RETURN(auto image, pull_base(out_ref, job.platform, store));
  BuiltImage built;
  built.manifest = image.manifest;
  ZTP_ASSIGN_OR_RETURN(auto manifest, store.read_manifest(image.manifest));
  built.config = manifest.config;
  built.layers = manifest.layers;
  built.size = image.manifest.size + manifest.config.size;
  for (const auto& l : manifest.layers) {
    built.size += l.size;
  }
  for (const auto& t : job.tags) {
    ZTP_TRY(store.tag(image.manifest, t));
  }
  built.tags = job.tags;
  return built;
}

Result<BuiltImage> build_dockerfile(const spec::Spec& spec, const std::string& dockerfile_path,
                                    std::vector<FileEntry> entries, ImageSpecInputs in,
                                    OciLayoutStore& store, const std::vector<std::string>& tags,
                                    const ContextBuildOptions& opts) {
  const std::string file = dockerfile_path;
  std::string text;
  std::vector<std::string> ignore;
  for (const auto& e : entries) {
    if (e.path == dockerfile_path && e.kind == EntryKind::file) {
      ZTP_ASSIGN_OR_RETURN(text, entry_bytes(e));
    } else if (e.path == ".dockerignore" && e.kind == EntryKind::file) {
      ZTP_ASSIGN_OR_RETURN(auto ignore_text, entry_bytes(e));
      ignore = parse_dockerignore(ignore_text);
    }
  }
  if (text.empty()) {
    return make_error(Errc::not_found,
                      fmt::format("the Dockerfile {} is not in the build context {}, or is empty; "
                                  "set build.dockerfile to its path relative to build.context",
                                  dockerfile_path, spec.build.context));
  }
  Tree context;
  for (auto& e : entries) {
    if (!dockerignored(ignore, e.path)) {
      std::string path = e.path;
      context.emplace(std::move(path), std::move(e));
    }
  }
  ZTP_ASSIGN_OR_RETURN(const Platform& platform, platform_of(spec.build, opts));
  in.os = platform.os;
  in.architecture = platform.architecture;
  in.variant = platform.variant;
  std::map<std::string, std::string> args = spec.build.args;
  for (const auto& [k, v] : opts.build_args) {
    args[k] = v;
  }
  ZTP_ASSIGN_OR_RETURN(auto parsed, dockerfile::parse(text, file));
  // Bases are pulled as the plan meets them, so that ENV of a base can be substituted.
  std::map<std::string, BaseImage> bases;
  auto base_env = [&](const std::string& ref, int line) -> Result<std::vector<std::string>> {
    auto found = bases.find(ref);
    if (found == bases.end()) {
      auto parsed_ref = parse_base_ref(ref, spec.base_dir());
      if (!parsed_ref.ok()) {
        return make_error(Errc::invalid,
                          fmt::format("{}:{}: FROM {}", file, line, parsed_ref.error().message));
      }
      auto pulled = pull_base(*parsed_ref, platform, store);
      if (!pulled.ok()) {
        Error e = pulled.take_error();
        e.message = fmt::format("{}:{}: {}", file, line, e.message);
        return e;
      }
      found = bases.emplace(ref, std::move(*pulled)).first;
    }
    return found->second.config.env;
  };
  ZTP_ASSIGN_OR_RETURN(auto plan, dockerfile::plan(parsed, file, args, base_env));
  if (plan.first_run_line) {
    const char* path = std::getenv("PATH");
    auto found = sys::find_on_path("buildah", path == nullptr ? "" : path);
    if (!found) {
      return make_error(Errc::invalid,
                        fmt::format("{}:{}: RUN needs a container runtime to execute its command; "
                                    "install buildah (apt-get install buildah) and ztp hands the "
                                    "whole build to it, or do the work before the build and COPY "
                                    "its output",
                                    file, *plan.first_run_line));
    }
    BuildahJob job{found->string(), spec, dockerfile_path, text, args, platform, in, tags};
    for (const auto& entry : bases) {
      auto parsed_ref = parse_base_ref(entry.first, spec.base_dir());
      job.insecure = job.insecure || (parsed_ref.ok() && parsed_ref->endpoint.plain_http &&
                                      parsed_ref->kind == BaseRef::Kind::registry);
    }
    return build_with_buildah(job, context_entries_of(context), store);
  }
  if (plan.stages.empty()) {
    return make_error(Errc::invalid, fmt::format("{}: there is no FROM line", file));
  }
  // Each stage's own files, from its COPY lines, in order.
  std::vector<Tree> stage_files(plan.stages.size());
  for (size_t i = 0; i < plan.stages.size(); ++i) {
    const auto& stage = plan.stages[i];
    for (const auto& c : stage.copies) {
      const Tree* from = &context;
      std::string from_what = "the build context";
      Tree chained;
      if (c.from_stage) {
        // A stage's file system as ztp knows it: what the COPY lines of its chain put there.
        for (int s : chain_of(plan, *c.from_stage).stages) {
          for (const auto& [p, e] : stage_files[s]) {
            chained.insert_or_assign(p, e);
          }
        }
        from = &chained;
        from_what = fmt::format(
            "stage {} (ztp sees only the files a stage's COPY lines put there, "
            "not those of its base image)",
            plan.stages[*c.from_stage].name.empty() ? std::to_string(*c.from_stage)
                                                    : plan.stages[*c.from_stage].name);
      }
      dockerfile::Copy copy = c;
      if (!copy.chown.empty() && !copy.uid) {
        // Names are looked up in this stage's own file system: its chain's files and base.
        StageChain own = chain_of(plan, static_cast<int>(i));
        Tree files;
        for (int s : own.stages) {
          for (const auto& [p, e] : stage_files[s]) {
            files.insert_or_assign(p, e);
          }
        }
        const BaseImage* base = own.external ? &bases.at(plan.stages[*own.external].base) : nullptr;
        ZTP_TRY(resolve_owner(copy, files, base, store, file));
      }
      ZTP_ASSIGN_OR_RETURN(auto copied, resolve_copy(copy, *from, from_what, file));
      for (auto& e : copied) {
        std::string path = e.path;
        stage_files[i].insert_or_assign(std::move(path), std::move(e));
      }
    }
  }
  const int last = static_cast<int>(plan.stages.size()) - 1;
  StageChain chain = chain_of(plan, last);
  ImageSpecInputs merged = in;
  merged.entrypoint.clear();
  merged.cmd.clear();
  merged.env.clear();
  merged.exposed_port = 0;
  if (chain.external) {
    set_base(bases.at(plan.stages[*chain.external].base), merged);
  }
  Tree files;
  for (int s : chain.stages) {
    apply_changes(plan.stages[s].config, merged);
    for (const auto& [p, e] : stage_files[s]) {
      files.insert_or_assign(p, e);
    }
  }
  // What the spec says wins over the Dockerfile.
  if (!in.entrypoint.empty()) {
    merged.entrypoint = in.entrypoint;
    merged.cmd.clear();
  }
  if (!in.cmd.empty()) {
    merged.cmd = in.cmd;
  }
  for (const auto& [k, v] : in.env) {
    merged.env[k] = v;
  }
  merged.exposed_port = in.exposed_port;
  std::vector<FileEntry> layer_entries;
  layer_entries.reserve(files.size());
  for (auto& [_, e] : files) {
    layer_entries.push_back(std::move(e));
  }
  EntriesSource source(std::move(layer_entries), fmt::format("the COPY lines of {}", file));
  return build_image(source, merged, store, tags);
}

}  // namespace

std::optional<std::string> dockerfile_of(const spec::Build& build, bool has_root_dockerfile) {
  if (build.dockerfile == "none") {
    return std::nullopt;
  }
  if (!build.dockerfile.empty()) {
    return build.dockerfile;
  }
  if (build.from.empty() && has_root_dockerfile) {
    return std::string("Dockerfile");
  }
  return std::nullopt;
}

std::vector<std::string> parse_dockerignore(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    std::string line(text.substr(start, end == std::string_view::npos ? end : end - start));
    start = end == std::string_view::npos ? text.size() + 1 : end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.pop_back();
    }
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') {
      continue;
    }
    line.erase(0, first);
    bool negate = line.front() == '!';
    std::string pattern = strip_path(negate ? line.substr(1) : line);
    if (!pattern.empty()) {
      out.push_back(negate ? "!" + pattern : pattern);
    }
  }
  return out;
}

bool dockerignored(const std::vector<std::string>& patterns, std::string_view rel) {
  bool ignored = false;
  for (const auto& raw : patterns) {
    bool negate = !raw.empty() && raw.front() == '!';
    std::string_view pattern = negate ? std::string_view(raw).substr(1) : std::string_view(raw);
    // The pattern matches the path or one of its parents.
    bool hit = false;
    for (std::string_view p = rel; !hit;) {
      hit = glob_match(pattern, p);
      size_t slash = p.rfind('/');
      if (slash == std::string_view::npos) {
        break;
      }
      p = p.substr(0, slash);
    }
    if (hit) {
      ignored = !negate;
    }
  }
  return ignored;
}

// build_context for one platform: opts.platform, else build.platforms' first, else the host's.
Result<BuiltImage> build_one(const spec::Spec& spec, const FileSource& context, ImageSpecInputs in,
                             OciLayoutStore& store, const std::vector<std::string>& tags,
                             const ContextBuildOptions& opts) {
  ZTP_ASSIGN_OR_RETURN(auto entries, context.entries());
  bool root_dockerfile = false;
  for (const auto& e : entries) {
    root_dockerfile = root_dockerfile || (e.path == "Dockerfile" && e.kind == EntryKind::file);
  }
  if (auto dockerfile = dockerfile_of(spec.build, root_dockerfile)) {
    return build_dockerfile(spec, *dockerfile, std::move(entries), std::move(in), store, tags,
                            opts);
  }
  ZTP_ASSIGN_OR_RETURN(const Platform& platform, platform_of(spec.build, opts));
  if (!spec.build.from.empty()) {
    ZTP_ASSIGN_OR_RETURN(auto ref, parse_base_ref(spec.build.from, spec.base_dir()));
    ZTP_ASSIGN_OR_RETURN(auto base, pull_base(ref, platform, store));
    set_base(base, in);
  }
  in.os = platform.os;
  in.architecture = platform.architecture;
  in.variant = platform.variant;
  EntriesSource source(std::move(entries), context.describe());
  return build_image(source, in, store, tags);
}

Result<BuiltImage> build_context(const spec::Spec& spec, const FileSource& context,
                                 ImageSpecInputs in, OciLayoutStore& store,
                                 const std::vector<std::string>& tags,
                                 const ContextBuildOptions& opts) {
  if (opts.platform || spec.build.platforms.size() < 2) {
    return build_one(spec, context, std::move(in), store, tags, opts);
  }
  // One image per platform, untagged, and an image index over them under the tags. The
  // application layer is the same bytes in each, so it is stored once.
  const Platform host = host_platform();
  std::vector<std::pair<Descriptor, Platform>> manifests;
  std::set<std::string> counted;
  BuiltImage out;
  auto count = [&](const Descriptor& d) {
    if (counted.insert(d.digest).second) {
      out.size += d.size;
    }
  };
  for (const auto& text : spec.build.platforms) {
    ZTP_ASSIGN_OR_RETURN(auto platform, parse_platform(text));
    ContextBuildOptions one = opts;
    one.platform = platform;
    auto built = build_one(spec, context, in, store, {}, one);
    if (!built.ok()) {
      Error e = built.take_error();
      e.message = fmt::format("platform {}: {}", platform.str(), e.message);
      return e;
    }
    manifests.emplace_back(built->manifest, platform);
    out.platforms.push_back(platform.str());
    for (const auto& d : built->written) {
      if (std::find(out.written.begin(), out.written.end(), d) == out.written.end()) {
        out.written.push_back(d);
      }
    }
    count(built->manifest);
    count(built->config);
    for (const auto& l : built->layers) {
      count(l);
    }
    // The index is described by this machine's image, else by the first platform's.
    if (manifests.size() == 1 || platform == host) {
      out.config = built->config;
      out.layers = built->layers;
      out.base_name = built->base_name;
      out.base_digest = built->base_digest;
    }
  }
  std::string index_json = make_index_json(manifests);
  const bool existed = store.has_blob(sha256_digest(index_json));
  ZTP_ASSIGN_OR_RETURN(out.manifest, store.put_index(index_json, tags));
  if (!existed) {
    out.written.push_back(out.manifest.digest);
  }
  out.size += out.manifest.size;
  out.tags = tags;
  return out;
}

}  // namespace ztp::artifact
