// Zip archives through libzip (Debian: libzip-dev): the central directory is parsed and
// checked against the local headers by libzip (ZIP_CHECKCONS), inflation and CRCs too;
// kiln adds the rules of zip_archive.h on top. libzip rather than zlib's minizip because
// Debian packages it as a maintained library of its own (minizip is a contrib folder that
// Debian ships separately and that other distributions often lack).
#include "frontend/zip_archive.h"

#include <zip.h>

#include <unordered_set>

#include "ir/error.h"

namespace kiln::frontend {

namespace {

// Deflate cannot expand data by more than 1032:1 (a 258-byte match per 2 bits, at best);
// an entry declaring more than that is lying about its size, and is refused before its
// buffer is allocated. The slack covers the headers of tiny streams.
constexpr uint64_t kMaxDeflateRatio = 1032;
constexpr uint64_t kDeflateSlack = 1024;

std::string error_text(zip_error_t* error) {
  std::string text = zip_error_strerror(error);
  zip_error_fini(error);
  return text;
}

// Names must stay inside the folder an archive is read into: no absolute paths, no drive
// letters, no ".." component (with '/' or '\' as separators).
bool escapes(std::string_view name) {
  if (name.empty() || name[0] == '/' || name[0] == '\\') return true;
  if (name.size() >= 2 && name[1] == ':') return true;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = name.size();
    if (name.substr(start, end - start) == "..") return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

struct ZipArchive::Handle {
  zip_t* archive = nullptr;
  ~Handle() {
    if (archive) zip_discard(archive);
  }
};

bool ZipArchive::looks_like_zip(std::span<const std::byte> bytes) {
  if (bytes.size() < 4) return false;
  auto b = [&](size_t i) { return static_cast<uint8_t>(bytes[i]); };
  return b(0) == 'P' && b(1) == 'K' && ((b(2) == 3 && b(3) == 4) || (b(2) == 5 && b(3) == 6));
}

ZipArchive::ZipArchive(std::span<const std::byte> bytes, std::string what, ZipLimits limits)
    : handle_(std::make_unique<Handle>()), what_(std::move(what)), limits_(limits) {
  auto fail = [&](const std::string& why) { return IOError(what_ + ": " + why); };
  zip_error_t error;
  zip_error_init(&error);
  // libzip wants a pointer even for no bytes.
  static const std::byte kNothing{};
  zip_source_t* source =
      zip_source_buffer_create(bytes.empty() ? &kNothing : bytes.data(), bytes.size(), 0, &error);
  if (!source) throw fail("cannot read the zip archive: " + error_text(&error));
  handle_->archive = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  if (!handle_->archive) {
    zip_source_free(source);
    throw fail("cannot open the zip archive: it is truncated or corrupt (libzip: " +
               error_text(&error) + ")");
  }
  zip_error_fini(&error);
  zip_int64_t count = zip_get_num_entries(handle_->archive, 0);
  std::unordered_set<std::string> names;
  uint64_t compressed_total = 0;
  for (zip_int64_t i = 0; i < count; ++i) {
    zip_stat_t st;
    if (zip_stat_index(handle_->archive, static_cast<zip_uint64_t>(i), ZIP_FL_ENC_RAW, &st) != 0)
      throw fail(std::string("cannot read zip entry ") + std::to_string(i) + ": " +
                 zip_strerror(handle_->archive));
    const zip_uint64_t needed = ZIP_STAT_NAME | ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE |
                                ZIP_STAT_COMP_METHOD | ZIP_STAT_ENCRYPTION_METHOD;
    if ((st.valid & needed) != needed)
      throw fail("zip entry " + std::to_string(i) + " lacks its name, sizes or method");
    Entry e;
    e.name = st.name;
    e.size = st.size;
    e.compressed_size = st.comp_size;
    e.index = static_cast<uint64_t>(i);
    std::string where = "zip entry '" + e.name + "'";
    if (escapes(e.name))
      throw fail(where + " has an absolute name or a '..' component (it would escape the archive)");
    if (!names.insert(e.name).second) throw fail("two zip entries are named '" + e.name + "'");
    if (st.encryption_method != ZIP_EM_NONE) throw fail(where + " is encrypted");
    if (st.comp_method == ZIP_CM_STORE) {
      if (e.size != e.compressed_size)
        throw fail(where + " is stored uncompressed but declares " + std::to_string(e.size) +
                   " bytes in " + std::to_string(e.compressed_size));
    } else if (st.comp_method == ZIP_CM_DEFLATE) {
      e.deflated = true;
      if (e.size > e.compressed_size * kMaxDeflateRatio + kDeflateSlack)
        throw fail(where + " declares " + std::to_string(e.size) + " bytes from " +
                   std::to_string(e.compressed_size) +
                   " compressed, more than deflate can produce (a zip bomb?)");
    } else {
      throw fail(where + " uses compression method " + std::to_string(st.comp_method) +
                 " (kiln reads stored and deflated entries)");
    }
    if (e.size > limits_.max_entry_bytes)
      throw fail(where + " declares " + std::to_string(e.size) + " bytes, more than the limit of " +
                 std::to_string(limits_.max_entry_bytes));
    // Entries whose data overlap (one stretch of bytes listed as many files, the other kind
    // of zip bomb) add up to more than the archive holds.
    compressed_total += e.compressed_size;
    if (compressed_total > bytes.size())
      throw fail("the zip entries' data add up to more than the archive's " +
                 std::to_string(bytes.size()) + " bytes (overlapping entries?)");
    entries_.push_back(std::move(e));
  }
}

ZipArchive::~ZipArchive() = default;

const ZipArchive::Entry* ZipArchive::find(std::string_view name) const {
  for (const Entry& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

std::vector<std::byte> ZipArchive::read(const Entry& entry) {
  std::string where = what_ + ": zip entry '" + entry.name + "'";
  if (entry.size > limits_.max_total_bytes - std::min(total_read_, limits_.max_total_bytes))
    throw IOError(where + " would take the bytes read past the limit of " +
                  std::to_string(limits_.max_total_bytes));
  total_read_ += entry.size;
  zip_file_t* file = zip_fopen_index(handle_->archive, entry.index, 0);
  if (!file)
    throw IOError(where + " cannot be read: " + std::string(zip_strerror(handle_->archive)));
  std::vector<std::byte> out(entry.size);
  zip_int64_t got = entry.size ? zip_fread(file, out.data(), entry.size) : 0;
  // One byte more must find the end: an entry inflating past its declared size is refused
  // rather than cut short.
  std::byte extra;
  zip_int64_t more = got == static_cast<zip_int64_t>(entry.size) ? zip_fread(file, &extra, 1) : 0;
  std::string reason = got < 0 || more < 0 ? zip_file_strerror(file) : "";
  zip_fclose(file);
  if (got < 0 || more < 0) throw IOError(where + " is corrupt: " + reason);
  if (static_cast<uint64_t>(got) != entry.size || more != 0)
    throw IOError(where + " declares " + std::to_string(entry.size) + " bytes but holds " +
                  (more ? "more" : std::to_string(got)));
  return out;
}

}  // namespace kiln::frontend
