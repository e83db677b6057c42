#include "base/hdf5_lock.hpp"
#include "timeline/event_spool.hpp"

#include <hdf5.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <utility>

#include "base/log.hpp"
#include "raympi/errors.hpp"

namespace raympi::detail {

namespace {

std::mutex& hdf5_lock() { return hdf5_mutex(); }  // shared with the spill files (base/hdf5_lock.hpp)

constexpr hsize_t kChunkRecords = 4096;
constexpr int kKinds = 3;
constexpr const char* kSetNames[kKinds] = {"tasks", "edges", "transfers"};

// Owns an HDF5 handle: closed at scope exit (or reset), movable.
class H5Id {
 public:
  H5Id() = default;
  H5Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  H5Id(H5Id&& o) noexcept : id_(std::exchange(o.id_, -1)), close_(o.close_) {}
  H5Id& operator=(H5Id&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, -1);
      close_ = o.close_;
    }
    return *this;
  }
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  ~H5Id() { reset(); }
  /// Closes now; returns false when the close itself failed (a file's last flush).
  bool reset() {
    herr_t rc = 0;
    if (id_ >= 0 && close_) rc = close_(id_);
    id_ = -1;
    return rc >= 0;
  }
  /// Forgets the handle without closing it.
  void release() { id_ = -1; }
  hid_t get() const { return id_; }
  explicit operator bool() const { return id_ >= 0; }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

// The HDF5 error stack, outermost call and innermost cause ("H5Fcreate(): unable
// to create file <- H5FD_sec2_open(): unable to open file: name = ..., errno = 2, ...").
// Must run right after the failing call: any later HDF5 API call clears the stack.
std::string h5_cause() {
  std::vector<std::string> lines;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* e, void* out) -> herr_t {
        std::string line = std::string(e->func_name ? e->func_name : "?") + "(): " + (e->desc ? e->desc : "");
        static_cast<std::vector<std::string>*>(out)->push_back(std::move(line));
        return 0;
      },
      &lines);
  H5Eclear2(H5E_DEFAULT);
  if (lines.empty()) return "no HDF5 error reported";
  if (lines.size() == 1) return lines.front();
  return lines.front() + " <- " + lines.back();
}

[[noreturn]] void fail(const std::string& what, const std::string& path, const std::string& cause) {
  throw Error("raympi: event log: " + what + " '" + path + "' failed: " + cause);
}
[[noreturn]] void fail_h5(const std::string& what, const std::string& path) { fail(what, path, h5_cause()); }

void quiet_hdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }  // errors become raympi::Error

// Serial file access without HDF5's file locks: a spool holds its file open
// for the whole job, and HDF5 1.10 keeps an exclusive flock on a file open
// for writing, so another process could not read the flushed records.
H5Id unlocked_fapl(const std::string& path) {
  H5Id fapl{H5Pcreate(H5P_FILE_ACCESS), H5Pclose};
  if (!fapl || H5Pset_file_locking(fapl.get(), false, true) < 0) fail_h5("setting up the access to", path);
  return fapl;
}

// The compound types, field by field (h5dump shows the names). Memory and file
// use the same (native) layout: no conversion on write or read.
struct Types {
  H5Id set[kKinds];
};

bool insert(hid_t t, const char* name, std::size_t offset, hid_t field) {
  return H5Tinsert(t, name, offset, field) >= 0;
}

Types make_types() {
  Types ty;
  H5Id name{H5Tcopy(H5T_C_S1), H5Tclose};
  bool ok = bool(name) && H5Tset_size(name.get(), TaskRecord::kNameBytes) >= 0 &&
            H5Tset_strpad(name.get(), H5T_STR_NULLPAD) >= 0;

  H5Id task{H5Tcreate(H5T_COMPOUND, sizeof(TaskRecord)), H5Tclose};
  ok = ok && bool(task);
  if (ok) {
    hid_t t = task.get();
    ok = insert(t, "id", HOFFSET(TaskRecord, id), H5T_NATIVE_UINT64) &&
         insert(t, "actor", HOFFSET(TaskRecord, actor), H5T_NATIVE_UINT64) &&
         insert(t, "node", HOFFSET(TaskRecord, node), H5T_NATIVE_INT32) &&
         insert(t, "row", HOFFSET(TaskRecord, row), H5T_NATIVE_INT32) &&
         insert(t, "kind", HOFFSET(TaskRecord, kind), H5T_NATIVE_INT32) &&
         insert(t, "error", HOFFSET(TaskRecord, error), H5T_NATIVE_INT32) &&
         insert(t, "attempts", HOFFSET(TaskRecord, attempts), H5T_NATIVE_INT32) &&
         insert(t, "pu", HOFFSET(TaskRecord, pu), H5T_NATIVE_INT32) &&
         insert(t, "submitted", HOFFSET(TaskRecord, submitted), H5T_NATIVE_DOUBLE) &&
         insert(t, "started", HOFFSET(TaskRecord, started), H5T_NATIVE_DOUBLE) &&
         insert(t, "finished", HOFFSET(TaskRecord, finished), H5T_NATIVE_DOUBLE) &&
         insert(t, "arg_bytes", HOFFSET(TaskRecord, arg_bytes), H5T_NATIVE_UINT64) &&
         insert(t, "result_bytes", HOFFSET(TaskRecord, result_bytes), H5T_NATIVE_UINT64) &&
         insert(t, "name", HOFFSET(TaskRecord, name), name.get());
  }
  H5Id edge{H5Tcreate(H5T_COMPOUND, sizeof(EdgeRecord)), H5Tclose};
  ok = ok && bool(edge) && insert(edge.get(), "consumer", HOFFSET(EdgeRecord, consumer), H5T_NATIVE_UINT64) &&
       insert(edge.get(), "producer", HOFFSET(EdgeRecord, producer), H5T_NATIVE_UINT64);

  H5Id xfer{H5Tcreate(H5T_COMPOUND, sizeof(TransferRecord)), H5Tclose};
  ok = ok && bool(xfer);
  if (ok) {
    hid_t t = xfer.get();
    ok = insert(t, "object", HOFFSET(TransferRecord, object), H5T_NATIVE_UINT64) &&
         insert(t, "bytes", HOFFSET(TransferRecord, bytes), H5T_NATIVE_UINT64) &&
         insert(t, "from", HOFFSET(TransferRecord, from), H5T_NATIVE_INT32) &&
         insert(t, "to", HOFFSET(TransferRecord, to), H5T_NATIVE_INT32) &&
         insert(t, "kind", HOFFSET(TransferRecord, kind), H5T_NATIVE_INT32) &&
         insert(t, "pad", HOFFSET(TransferRecord, pad), H5T_NATIVE_INT32) &&
         insert(t, "started", HOFFSET(TransferRecord, started), H5T_NATIVE_DOUBLE) &&
         insert(t, "finished", HOFFSET(TransferRecord, finished), H5T_NATIVE_DOUBLE);
  }
  if (!ok) throw Error("raympi: event log: building the HDF5 compound types failed: " + h5_cause());
  ty.set[0] = std::move(task);
  ty.set[1] = std::move(edge);
  ty.set[2] = std::move(xfer);
  return ty;
}

// Calls f(kind index, the batch's vector of that kind).
template <class Batch, class F>
void for_each_kind(Batch& b, F&& f) {
  f(0, b.tasks);
  f(1, b.edges);
  f(2, b.transfers);
}

// Reads all of an open 1-D dataset into `rows` (resized to its extent).
template <class Row>
bool read_rows(hid_t set, hid_t type, std::vector<Row>& rows) {
  H5Id space{H5Dget_space(set), H5Sclose};
  hsize_t dims[1] = {0};
  if (!space || H5Sget_simple_extent_ndims(space.get()) != 1 ||
      H5Sget_simple_extent_dims(space.get(), dims, nullptr) != 1)
    return false;
  rows.assign(dims[0], Row{});
  if (rows.empty()) return true;
  return H5Dread(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows.data()) >= 0;
}

}  // namespace

// ---------------------------------------------------------------------------
// EventSpool

struct EventSpool::Impl {
  std::string path;
  Types types;
  H5Id file;
  H5Id sets[kKinds];
  hsize_t counts[kKinds] = {};
};

EventSpool::EventSpool(std::string path) : impl_(std::make_unique<Impl>()) {
  std::lock_guard lk(hdf5_lock());
  try {
    open(std::move(path));
  } catch (...) {
    impl_.reset();  // close what was opened, still under the lock
    throw;
  }
}

void EventSpool::open(std::string path) {
  quiet_hdf5();
  Impl& s = *impl_;
  s.path = std::move(path);
  s.types = make_types();
  H5Id fapl = unlocked_fapl(s.path);
  s.file = H5Id{H5Fcreate(s.path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose};
  if (!s.file) fail_h5("creating", s.path);
  hsize_t zero[1] = {0}, unlimited[1] = {H5S_UNLIMITED}, chunk[1] = {kChunkRecords};
  H5Id space{H5Screate_simple(1, zero, unlimited), H5Sclose};
  H5Id dcpl{H5Pcreate(H5P_DATASET_CREATE), H5Pclose};
  if (!space || !dcpl || H5Pset_chunk(dcpl.get(), 1, chunk) < 0) fail_h5("creating the datasets of", s.path);
  for (int k = 0; k < kKinds; ++k) {
    s.sets[k] = H5Id{H5Dcreate2(s.file.get(), kSetNames[k], s.types.set[k].get(), space.get(), H5P_DEFAULT,
                                dcpl.get(), H5P_DEFAULT),
                     H5Dclose};
    if (!s.sets[k]) fail_h5(std::string("creating the dataset \"") + kSetNames[k] + "\" of", s.path);
  }
  if (H5Fflush(s.file.get(), H5F_SCOPE_LOCAL) < 0) fail_h5("flushing", s.path);
}

EventSpool::~EventSpool() {
  if (!impl_) return;
  std::lock_guard lk(hdf5_lock());
  impl_.reset();  // datasets, then the file, then the types
}

EventSpool::EventSpool(EventSpool&&) noexcept = default;
EventSpool& EventSpool::operator=(EventSpool&& o) noexcept {
  if (this != &o) {
    std::lock_guard lk(hdf5_lock());
    impl_ = std::move(o.impl_);
  }
  return *this;
}

void EventSpool::append(const EventBatch& batch) {
  std::lock_guard lk(hdf5_lock());
  Impl& s = *impl_;
  for_each_kind(batch, [&](int k, const auto& rows) {
    if (rows.empty()) return;
    hsize_t at[1] = {s.counts[k]}, n[1] = {rows.size()}, size[1] = {s.counts[k] + rows.size()};
    std::string step = "extending";
    bool ok = H5Dset_extent(s.sets[k].get(), size) >= 0;
    if (ok) {
      step = "writing";
      H5Id fspace{H5Dget_space(s.sets[k].get()), H5Sclose};
      H5Id mspace{H5Screate_simple(1, n, nullptr), H5Sclose};
      ok = fspace && mspace && H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, at, nullptr, n, nullptr) >= 0 &&
           H5Dwrite(s.sets[k].get(), s.types.set[k].get(), mspace.get(), fspace.get(), H5P_DEFAULT,
                    rows.data()) >= 0;
    }
    if (!ok) {
      std::string cause = h5_cause();
      H5Dset_extent(s.sets[k].get(), at);  // best effort: keep only what was written
      H5Eclear2(H5E_DEFAULT);
      fail(step + " " + std::to_string(rows.size()) + " records to \"" + kSetNames[k] + "\" of", s.path, cause);
    }
    s.counts[k] = size[0];
  });
  if (H5Fflush(s.file.get(), H5F_SCOPE_LOCAL) < 0) fail_h5("flushing", s.path);
}

EventBatch EventSpool::read_all() const {
  std::lock_guard lk(hdf5_lock());
  const Impl& s = *impl_;
  EventBatch b;
  for_each_kind(b, [&](int k, auto& rows) {
    if (!read_rows(s.sets[k].get(), s.types.set[k].get(), rows))
      fail_h5(std::string("reading \"") + kSetNames[k] + "\" of", s.path);
  });
  return b;
}

std::uint64_t EventSpool::records() const { return impl_->counts[0] + impl_->counts[1] + impl_->counts[2]; }

const std::string& EventSpool::path() const { return impl_->path; }

// ---------------------------------------------------------------------------
// Reading

namespace {
H5Id open_log(const std::string& path) {
  quiet_hdf5();
  H5Id fapl = unlocked_fapl(path);
  H5Id file{H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose};
  if (!file) fail_h5("opening the event log", path);
  return file;
}
}  // namespace

EventBatch read_event_log(const std::string& path) {
  std::lock_guard lk(hdf5_lock());
  H5Id file = open_log(path);
  Types types = make_types();
  EventBatch b;
  for_each_kind(b, [&](int k, auto& rows) {
    H5Id set{H5Dopen2(file.get(), kSetNames[k], H5P_DEFAULT), H5Dclose};
    if (!set || !read_rows(set.get(), types.set[k].get(), rows))
      fail_h5(std::string("reading the dataset \"") + kSetNames[k] + "\" of the event log", path);
  });
  return b;
}

RankCounts read_rank_counts(const std::string& path) {
  std::lock_guard lk(hdf5_lock());
  H5Id file = open_log(path);
  RankCounts out;
  if (H5Lexists(file.get(), "ranks", H5P_DEFAULT) <= 0) return out;
  H5Id set{H5Dopen2(file.get(), "ranks", H5P_DEFAULT), H5Dclose};
  H5Id space{set ? H5Dget_space(set.get()) : -1, H5Sclose};
  hsize_t dims[2] = {0, 0};
  if (!space || H5Sget_simple_extent_ndims(space.get()) != 2 ||
      H5Sget_simple_extent_dims(space.get(), dims, nullptr) != 2 || dims[1] != kKinds)
    fail("reading the dataset \"ranks\" of the event log", path, "not a [ranks][3] dataset");
  out.resize(dims[0]);
  if (!out.empty() && H5Dread(set.get(), H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    fail_h5("reading the dataset \"ranks\" of the event log", path);
  return out;
}

// ---------------------------------------------------------------------------
// The merged log

std::string rank_log_path(const std::string& path, int rank) {
  const std::string tag = ".rank" + std::to_string(rank);
  if (path.size() >= 3 && path.compare(path.size() - 3, 3, ".h5") == 0)
    return path.substr(0, path.size() - 3) + tag + ".h5";
  return path + tag;
}

namespace {

bool agree(MPI_Comm comm, bool ok) {
  int v = ok ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MIN, comm);
  return v == 1;
}

// The message of the lowest rank whose `mine` is not empty ("" when none).
std::string first_cause(MPI_Comm comm, const std::string& mine) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  int who = mine.empty() ? size : rank;
  MPI_Allreduce(MPI_IN_PLACE, &who, 1, MPI_INT, MPI_MIN, comm);
  if (who == size) return {};
  std::string msg = rank == who ? mine : std::string();
  int len = int(msg.size());
  MPI_Bcast(&len, 1, MPI_INT, who, comm);
  msg.resize(std::size_t(len));
  MPI_Bcast(msg.data(), len, MPI_CHAR, who, comm);
  return "rank " + std::to_string(who) + ": " + msg;
}

// One merged file through MPI-IO. Collective; returns "" on success on this
// rank, else the cause. Every collective HDF5 call is made on every rank as
// long as the earlier collective steps succeeded everywhere (they fail alike).
std::string write_mpiio(MPI_Comm comm, const std::string& path, const EventBatch& mine,
                        const std::vector<std::uint64_t>& counts, int rank, int size) {
  H5Id fapl{H5Pcreate(H5P_FILE_ACCESS), H5Pclose};
  if (!fapl || H5Pset_fapl_mpio(fapl.get(), comm, MPI_INFO_NULL) < 0) {
    std::string cause = "H5Pset_fapl_mpio: " + h5_cause();
    agree(comm, false);
    return cause;
  }
  H5Id file{H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose};
  std::string cause = file ? std::string() : "creating: " + h5_cause();
  if (!agree(comm, bool(file))) {
    // H5Fclose is collective: a rank that opened the file while another
    // could not must not close it (it would wait for the others forever).
    file.release();
    return cause.empty() ? "another rank could not create the file" : cause;
  }

  Types types = make_types();
  H5Id dxpl{H5Pcreate(H5P_DATASET_XFER), H5Pclose};
  if (!dxpl || H5Pset_dxpl_mpio(dxpl.get(), H5FD_MPIO_COLLECTIVE) < 0) cause = "H5Pset_dxpl_mpio: " + h5_cause();

  char dummy = 0;  // a buffer for ranks that write nothing
  for_each_kind(mine, [&](int k, const auto& rows) {
    if (!cause.empty()) return;
    hsize_t total = 0, offset = 0;
    for (int r = 0; r < size; ++r) {
      if (r < rank) offset += counts[std::size_t(r) * kKinds + k];
      total += counts[std::size_t(r) * kKinds + k];
    }
    hsize_t dims[1] = {total};
    H5Id fspace{H5Screate_simple(1, dims, nullptr), H5Sclose};
    H5Id set{fspace ? H5Dcreate2(file.get(), kSetNames[k], types.set[k].get(), fspace.get(), H5P_DEFAULT,
                                 H5P_DEFAULT, H5P_DEFAULT)
                    : -1,
             H5Dclose};
    if (!set) {
      cause = std::string("creating \"") + kSetNames[k] + "\": " + h5_cause();
      return;
    }
    if (total == 0) return;  // every rank knows: nobody writes
    hsize_t at[1] = {offset}, n[1] = {rows.size()}, one[1] = {1};
    H5Id mspace{H5Screate_simple(1, rows.empty() ? one : n, nullptr), H5Sclose};
    bool ok = bool(mspace);
    if (ok && rows.empty())
      ok = H5Sselect_none(fspace.get()) >= 0 && H5Sselect_none(mspace.get()) >= 0;
    else if (ok)
      ok = H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, at, nullptr, n, nullptr) >= 0;
    const void* data = rows.empty() ? static_cast<const void*>(&dummy) : static_cast<const void*>(rows.data());
    if (!ok || H5Dwrite(set.get(), types.set[k].get(), mspace.get(), fspace.get(), dxpl.get(), data) < 0)
      cause = std::string("writing \"") + kSetNames[k] + "\": " + h5_cause();
  });

  // "ranks": [size][3] counts, written by rank 0; "columns" names them.
  if (cause.empty()) {
    hsize_t dims[2] = {hsize_t(size), hsize_t(kKinds)};
    H5Id fspace{H5Screate_simple(2, dims, nullptr), H5Sclose};
    H5Id set{fspace ? H5Dcreate2(file.get(), "ranks", H5T_STD_U64LE, fspace.get(), H5P_DEFAULT, H5P_DEFAULT,
                                 H5P_DEFAULT)
                    : -1,
             H5Dclose};
    const char columns[] = "tasks,edges,transfers";
    H5Id stype{H5Tcopy(H5T_C_S1), H5Tclose};
    H5Id aspace{H5Screate(H5S_SCALAR), H5Sclose};
    bool ok = set && stype && aspace && H5Tset_size(stype.get(), sizeof columns) >= 0;
    H5Id attr{ok ? H5Acreate2(set.get(), "columns", stype.get(), aspace.get(), H5P_DEFAULT, H5P_DEFAULT) : -1,
              H5Aclose};
    ok = ok && attr && H5Awrite(attr.get(), stype.get(), columns) >= 0;
    if (ok && rank != 0) ok = H5Sselect_none(fspace.get()) >= 0;
    H5Id mspace{H5Screate_simple(2, dims, nullptr), H5Sclose};
    if (ok && rank != 0) ok = mspace && H5Sselect_none(mspace.get()) >= 0;
    ok = ok && H5Dwrite(set.get(), H5T_NATIVE_UINT64, mspace.get(), fspace.get(), dxpl.get(), counts.data()) >= 0;
    if (!ok) cause = "writing \"ranks\": " + h5_cause();
  }
  // Collective close; it writes the metadata, so its failure counts.
  if (!file.reset() && cause.empty()) cause = "closing: " + h5_cause();
  return cause;
}

}  // namespace

bool write_merged_log(MPI_Comm comm, const std::string& path, const EventBatch& mine) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  // Every rank's counts: the offsets are their exclusive prefix sums, and "ranks" holds them.
  std::uint64_t my[kKinds] = {mine.tasks.size(), mine.edges.size(), mine.transfers.size()};
  std::vector<std::uint64_t> counts(std::size_t(size) * kKinds);
  MPI_Allgather(my, kKinds, MPI_UINT64_T, counts.data(), kKinds, MPI_UINT64_T, comm);

  std::string mpiio_cause;
  const char* env = std::getenv("RAYMPI_EVENT_LOG_MPIIO");
  const bool use_mpiio = !(env && std::string(env) == "0");
  if (use_mpiio) {
    std::string cause;
    {
      std::lock_guard lk(hdf5_lock());
      quiet_hdf5();
      try {
        cause = write_mpiio(comm, path, mine, counts, rank, size);
      } catch (const std::exception& e) {  // make_types only, before any collective HDF5 step
        cause = e.what();
      }
    }
    mpiio_cause = first_cause(comm, cause);
    if (mpiio_cause.empty()) return true;
    if (rank == 0) ::unlink(path.c_str());  // a partial file, if any
  } else {
    mpiio_cause = "MPI-IO disabled by RAYMPI_EVENT_LOG_MPIIO=0";
  }

  // Fallback: one file per rank, EventSpool's format.
  const std::string mine_path = rank_log_path(path, rank);
  std::string cause;
  try {
    EventSpool spool(mine_path);
    spool.append(mine);
  } catch (const std::exception& e) {
    cause = e.what();
  }
  std::string fallback_cause = first_cause(comm, cause);
  if (!fallback_cause.empty())
    throw Error("raympi: event log: writing the merged log '" + path + "' failed (" + mpiio_cause +
                "), and so did the fallback of one file per rank ('" + rank_log_path(path, 0) + "', ...): " +
                fallback_cause);
  if (rank == 0)
    RAYMPI_LOG_WARN("raympi: event log: no merged file '{}' ({}); wrote one file per rank instead: '{}' ... '{}'",
                    path, mpiio_cause, rank_log_path(path, 0), rank_log_path(path, size - 1));
  return false;
}

}  // namespace raympi::detail
