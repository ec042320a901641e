//! BIP340 arithmetic on k256 shared by EOTS and adaptor signatures: scalars, points with their
//! y parity, the challenge hash and even-y key normalization.

use bitcoin::{
    hashes::{Hash, HashEngine, sha256},
    secp256k1::SecretKey,
};
use k256::{
    AffinePoint, FieldBytes, ProjectivePoint, Scalar,
    elliptic_curve::{PrimeField, ops::Reduce, point::AffineCoordinates, sec1::ToEncodedPoint},
};

/// 32 big-endian bytes reduced modulo the curve order.
pub(super) fn scalar(bytes: &[u8; 32]) -> Scalar {
    <Scalar as Reduce<k256::U256>>::reduce_bytes(&FieldBytes::from(*bytes))
}

/// `(x, even)`: the point's x coordinate and whether its y is even.
pub(super) fn point(p: &ProjectivePoint) -> ([u8; 32], bool) {
    let affine: AffinePoint = p.to_affine();
    let encoded = affine.to_encoded_point(true);
    let x: [u8; 32] = affine.x().into();
    (x, encoded.as_bytes()[0] == 0x02)
}

/// BIP340's challenge `e = H_tag(R_x || P_x || m) mod n`.
pub(super) fn challenge(r_x: &[u8; 32], p_x: &[u8; 32], m: &[u8; 32]) -> Scalar {
    let tag = sha256::Hash::hash(b"BIP0340/challenge");
    let mut engine = sha256::Hash::engine();
    engine.input(tag.as_byte_array());
    engine.input(tag.as_byte_array());
    engine.input(r_x);
    engine.input(p_x);
    engine.input(m);
    scalar(&sha256::Hash::from_engine(engine).to_byte_array())
}

/// The key's scalar with even-y normalization, and its x coordinate.
pub(super) fn normalized(key: &SecretKey) -> (Scalar, [u8; 32]) {
    let d = Option::from(Scalar::from_repr(key.secret_bytes().into())).expect("a valid secret key");
    let (p_x, even) = point(&(ProjectivePoint::GENERATOR * d));
    (if even { d } else { -d }, p_x)
}
