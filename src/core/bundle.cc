#include "core/bundle.h"

#include "core/byte_reader.h"
#include "core/error_codes.h"
#include "core/limits.h"

namespace pando {
namespace {

// Largest record body a reader accepts: a fork proof of two maximal runs.
constexpr size_t kRecordBytesMax =
    2 * (4 + kForkProofRunEntriesMax * (4 + entry_layout::kOverhead + limits::kGroupNameBytesMax +
                                        limits::kPayloadBytesMax));

Error BadBundle(const std::string& why) {
  return Error{codes::kBadBundle, "The bundle is damaged or not a Pando bundle: " + why + "."};
}

}  // namespace

BundleWriter::BundleWriter(std::ostream* out) : out_(out) {
  Write(AsBytes(kBundleMagic));
  uint8_t version = kBundleVersion;
  Write(ByteSpan(&version, 1));
}

void BundleWriter::Write(ByteSpan bytes) {
  hasher_.Update(bytes);
  out_->write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
}

void BundleWriter::WriteRecord(BundleRecordType type, ByteSpan body) {
  uint8_t header[5];
  header[0] = static_cast<uint8_t>(type);
  for (int i = 0; i < 4; ++i) header[1 + i] = static_cast<uint8_t>(body.size() >> (8 * i));
  Write(header);
  Write(body);
}

void BundleWriter::WriteEntry(const Entry& entry) {
  WriteRecord(BundleRecordType::kEntry, entry.bytes());
}

void BundleWriter::WriteForkProof(const ForkProof& proof) {
  WriteRecord(BundleRecordType::kForkProof, EncodeForkProof(proof));
}

Status BundleWriter::Finish() {
  Hash32 sum = hasher_.Final();
  uint8_t header[5] = {static_cast<uint8_t>(BundleRecordType::kEnd), 32, 0, 0, 0};
  out_->write(reinterpret_cast<const char*>(header), 5);
  out_->write(reinterpret_cast<const char*>(sum.data()), 32);
  out_->flush();
  if (!out_->good()) return Error{codes::kIo, "Writing the bundle failed."};
  return Status::Ok();
}

BundleReader::BundleReader(std::istream* in) : in_(in) {}

Status BundleReader::ReadExact(uint8_t* dst, size_t n) {
  in_->read(reinterpret_cast<char*>(dst), static_cast<std::streamsize>(n));
  if (static_cast<size_t>(in_->gcount()) != n) {
    done_ = true;
    return BadBundle("it ends early (truncated?)");
  }
  return Status::Ok();
}

Result<std::optional<BundleRecord>> BundleReader::Next() {
  if (done_) return BadBundle("it was already read to the end or failed");
  if (!started_) {
    // The magic decides first: an input that does not start with it, however short, is not
    // a bundle rather than a truncated one (docs/bundle-format.md, "Reading", rule 1).
    uint8_t head[9];
    in_->read(reinterpret_cast<char*>(head), static_cast<std::streamsize>(kBundleMagic.size()));
    if (static_cast<size_t>(in_->gcount()) != kBundleMagic.size() ||
        AsString(ByteSpan(head, kBundleMagic.size())) != kBundleMagic) {
      done_ = true;
      return BadBundle("it does not start with PANDOBDL");
    }
    PANDO_RETURN_IF_ERROR(ReadExact(head + kBundleMagic.size(), 1));
    const uint8_t version = head[kBundleMagic.size()];
    if (version != kBundleVersion) {
      done_ = true;
      return BadBundle("its version " + std::to_string(version) + " is not supported");
    }
    hasher_.Update(head);
    started_ = true;
  }
  uint8_t header[5];
  PANDO_RETURN_IF_ERROR(ReadExact(header, sizeof header));
  ByteReader h(header);
  const uint8_t type_byte = h.U8();
  const uint32_t len = h.U32();
  if (len > kRecordBytesMax) {
    done_ = true;
    return BadBundle("a record claims " + std::to_string(len) + " bytes");
  }
  body_.resize(len);
  PANDO_RETURN_IF_ERROR(ReadExact(body_.data(), len));
  const auto type = static_cast<BundleRecordType>(type_byte);
  if (type == BundleRecordType::kEnd) {
    done_ = true;
    Hash32 sum = hasher_.Final();
    if (len != 32 || !std::equal(sum.begin(), sum.end(), body_.begin())) {
      return BadBundle("its checksum does not match its contents");
    }
    if (in_->peek() != std::char_traits<char>::eof()) {
      return BadBundle("bytes follow its end record");
    }
    return std::optional<BundleRecord>();
  }
  hasher_.Update(header);
  hasher_.Update(body_);
  if (type == BundleRecordType::kEntry) {
    auto e = Entry::Decode(body_);
    if (!e.ok()) {
      done_ = true;
      return e.error();
    }
    return std::optional<BundleRecord>(std::move(e).value());
  }
  if (type == BundleRecordType::kForkProof) {
    auto p = DecodeForkProof(body_);
    if (!p.ok()) {
      done_ = true;
      return p.error();
    }
    return std::optional<BundleRecord>(std::move(p).value());
  }
  done_ = true;
  return BadBundle("record type " + std::to_string(type_byte) + " is unknown");
}

}  // namespace pando
