#include "base/hdf5_lock.hpp"
#include "store/spill.hpp"

#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "raympi/errors.hpp"

namespace raympi::detail {

namespace {
[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw Error("raympi: spilling: " + what + " '" + path + "' failed; check that the spill directory " +
              "(RAYMPI_SPILL_DIR / Config::spill_directory) is writable and has room");
}


// Closes an HDF5 handle at scope exit.
struct H5Handle {
  hid_t id;
  herr_t (*close)(hid_t);
  ~H5Handle() {
    if (id >= 0) close(id);
  }
};
}  // namespace

SpillDir::SpillDir(std::string job_dir, int rank)
    : job_dir_(std::move(job_dir)), folder_(job_dir_ + "/rank-" + std::to_string(rank)) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors become raympi::Error, not stderr noise
}

SpillDir::~SpillDir() {
  if (!created_) return;
  std::error_code ec;
  std::filesystem::remove_all(folder_, ec);
  ::rmdir(job_dir_.c_str());  // the last rank's removal empties it; others fail harmlessly
}

void SpillDir::ensure_folder() {
  if (created_) return;
  for (const std::string& d : {job_dir_, folder_}) {
    if (::mkdir(d.c_str(), 0700) != 0 && errno != EEXIST)
      throw Error("raympi: cannot create the spill folder '" + d + "': " + std::strerror(errno) +
                  "; set RAYMPI_SPILL_DIR to a writable place");
  }
  created_ = true;
}

std::string SpillDir::write(ObjectId id, const Buffer& bytes) {
  std::lock_guard lk(hdf5_mutex());
  ensure_folder();
  std::string path = folder_ + "/obj-" + std::to_string(id.value) + ".h5";
  H5Handle file{H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose};
  if (file.id < 0) fail("creating", path);
  hsize_t dims[1] = {hsize_t(bytes.size)};
  H5Handle space{H5Screate_simple(1, dims, nullptr), H5Sclose};
  H5Handle set{H5Dcreate2(file.id, "bytes", H5T_NATIVE_UINT8, space.id, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
               H5Dclose};
  if (set.id < 0 || H5Dwrite(set.id, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data) < 0)
    fail("writing", path);
  return path;
}

Buffer SpillDir::read(const std::string& path, std::uint64_t size) {
  std::lock_guard lk(hdf5_mutex());
  H5Handle file{H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose};
  if (file.id < 0) fail("opening", path);
  H5Handle set{H5Dopen2(file.id, "bytes", H5P_DEFAULT), H5Dclose};
  H5Handle space{set.id >= 0 ? H5Dget_space(set.id) : -1, H5Sclose};
  hsize_t dims[1] = {0};
  if (space.id < 0 || H5Sget_simple_extent_dims(space.id, dims, nullptr) != 1 || dims[0] != size)
    fail("reading (size differs from the object's)", path);
  char* mem = nullptr;
  Buffer b = allocate_buffer(size, mem);
  if (H5Dread(set.id, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, mem) < 0) fail("reading", path);
  return b;
}

void SpillDir::remove(const std::string& path) { ::unlink(path.c_str()); }

}  // namespace raympi::detail
