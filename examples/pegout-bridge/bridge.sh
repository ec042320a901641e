#!/usr/bin/env bash
# A tiny peg-out bridge that peglab did not write: it watches a 2-of-3 multisig peg address
# and pays one peg-out request from it, signing with two members' keys. It talks to the node
# only through `bitcoin-cli` (no wallet: scantxoutset, createrawtransaction,
# signrawtransactionwithkey, sendrawtransaction) and remembers what it paid, so that running
# it again (after a reorg, say) pays a request once, or again if its payout is gone.
#
# peglab's `exec` step gives it the lab (PEGLAB_RPC_PORT, PEGLAB_RPC_USER, PEGLAB_RPC_PASSWORD,
# PEGLAB_BITCOIN_CLI, PEGLAB_DATADIR), the keys (PEGLAB_KEY_<ACTOR>, WIF) and the peg
# (PEGLAB_PEG_<PEG>_ADDRESS, _SCRIPT_PUBKEY, _WITNESS_SCRIPT). The request comes in:
#   PEG            the peg's name as in the variables (VAULT)
#   SIGNERS        the members who sign ("CAROL ERIN")
#   REQUEST_ID     the request's id (r1)
#   PEGOUT_TO      where to pay (an address)
#   PEGOUT_AMOUNT  how much, in BTC (0.4)
# Needs bash, bitcoin-cli and jq.
set -euo pipefail

cli() {
    "${PEGLAB_BITCOIN_CLI:-bitcoin-cli}" -regtest -rpcconnect=127.0.0.1 \
        -rpcport="$PEGLAB_RPC_PORT" -rpcuser="$PEGLAB_RPC_USER" \
        -rpcpassword="$PEGLAB_RPC_PASSWORD" "$@"
}
sats() { awk -v btc="$1" 'BEGIN { printf "%d", btc * 100000000 + 0.5 }'; }
btc() { printf '%d.%08d' $(($1 / 100000000)) $(($1 % 100000000)); }
var() { local name="$1"; printf '%s' "${!name:?$name is not set}"; }

address=$(var "PEGLAB_PEG_${PEG}_ADDRESS")
script_pubkey=$(var "PEGLAB_PEG_${PEG}_SCRIPT_PUBKEY")
witness_script=$(var "PEGLAB_PEG_${PEG}_WITNESS_SCRIPT")
state_dir="${PEGLAB_DATADIR:?}/pegout-bridge"
mkdir -p "$state_dir"
state="$state_dir/$REQUEST_ID"

if [[ -f $state ]]; then
    paid=$(cat "$state")
    if [[ $(cli gettxout "$paid" 0 true) != "" ]] || cli getmempoolentry "$paid" >/dev/null 2>&1; then
        echo "request $REQUEST_ID: already paid in $paid"
        exit 0
    fi
    echo "request $REQUEST_ID: payout $paid is gone; paying again"
fi

amount=$(sats "$PEGOUT_AMOUNT")
fee=2000
utxos=$(cli scantxoutset start "[\"addr($address)\"]")
coin=$(jq -c --argjson need $((amount + fee)) \
    '[.unspents[] | select((.amount * 100000000 | round) >= $need)] | sort_by(.height) | first // empty' <<<"$utxos")
if [[ -z $coin ]]; then
    echo "request $REQUEST_ID: no confirmed peg output of $(btc $((amount + fee))) BTC or more at $address" >&2
    exit 3
fi
txid=$(jq -r .txid <<<"$coin")
vout=$(jq -r .vout <<<"$coin")
value=$(jq -r '.amount * 100000000 | round' <<<"$coin")
change=$((value - amount - fee))

outputs="[{\"$PEGOUT_TO\": $(btc "$amount")}"
if ((change > 0)); then outputs+=", {\"$address\": $(btc "$change")}"; fi
outputs+="]"
unsigned=$(cli createrawtransaction "[{\"txid\": \"$txid\", \"vout\": $vout}]" "$outputs")

keys=()
for signer in $SIGNERS; do keys+=("\"$(var "PEGLAB_KEY_$signer")\""); done
key_list="[$(IFS=,; echo "${keys[*]}")]"
prevouts="[{\"txid\": \"$txid\", \"vout\": $vout, \"scriptPubKey\": \"$script_pubkey\", \"witnessScript\": \"$witness_script\", \"amount\": $(btc "$value")}]"
signed=$(cli signrawtransactionwithkey "$unsigned" "$key_list" "$prevouts")
if [[ $(jq -r .complete <<<"$signed") != true ]]; then
    echo "request $REQUEST_ID: signing incomplete: $(jq -c .errors <<<"$signed")" >&2
    exit 4
fi
payout=$(cli sendrawtransaction "$(jq -r .hex <<<"$signed")")
echo "$payout" >"$state"
echo "request $REQUEST_ID: paid $(btc "$amount") BTC to $PEGOUT_TO in $payout"
