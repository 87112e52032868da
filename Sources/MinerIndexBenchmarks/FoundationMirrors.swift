// swift-format-ignore-file: AlwaysUseLowerCamelCase
// The Foundation baseline: Codable mirrors of the records. Property names are the JSON keys themselves so that
// JSONDecoder/JSONEncoder run with their default (fastest) key strategy; a snake-case conversion strategy would
// slow the baseline and flatter miner-index.

import MinerIndex

/// Mirror of an ASIC log, no validation.
struct CodableAsicMinerLog: Codable {
    var asic_miner_id: Int64
    var hashrate_5_min: Double
    var hashrate_30_min: Double?
    var hashrate_uom: String
    var pool_rejection_rate: Double?
    var uptime: String
    var pool_1_address: String?
    var pool_1_user: String?
    var pool_1_state: String?
    var pool_1_accepted_share: Double?
    var pool_1_rejected_share: Double?
    var pool_2_address: String?
    var pool_2_user: String?
    var pool_2_state: String?
    var pool_2_accepted_share: Double?
    var pool_2_rejected_share: Double?
    var pool_3_address: String?
    var pool_3_user: String?
    var pool_3_state: String?
    var pool_3_accepted_share: Double?
    var pool_3_rejected_share: Double?
    var hashboard_1_hashrate_5_min: Double?
    var hashboard_1_hashrate_30_min: Double?
    var hashboard_1_temp_1: Double?
    var hashboard_1_temp_2: Double?
    var hashboard_2_hashrate_5_min: Double?
    var hashboard_2_hashrate_30_min: Double?
    var hashboard_2_temp_1: Double?
    var hashboard_2_temp_2: Double?
    var hashboard_3_hashrate_5_min: Double?
    var hashboard_3_hashrate_30_min: Double?
    var hashboard_3_temp_1: Double?
    var hashboard_3_temp_2: Double?
    var fan_1_speed: Double?
    var fan_2_speed: Double?
    var fan_3_speed: Double?
    var fan_4_speed: Double?
    var lan_ip: String
    var wan_ip: String?
    var coin_name: String
    var power: Double
    var inserted_at: String?
}

/// Mirror of an ASIC registry record.
struct CodableAsicMiner: Codable {
    var id: Int64
    var name: String?
    var firmware_version: String?
    var software_version: String?
    var model: String?
    var model_variant: String?
    var activated: Bool
    var asic_expected_status: String?
    var light_expected_status: String?
    var inserted_at: String?
    var updated_at: String?
}

/// Mirror of a CPU/GPU rig log, no validation.
struct CodableCpuGpuMinerLog: Codable {
    var cpu_gpu_miner_id: Int64
    var cpu_temp: Double?
    var cpu_hashrate: Double?
    var cpu_hashrate_uom: String?
    var cpu_algorithm: String?
    var cpu_coin_name: String?
    var cpu_pool_address: String?
    var cpu_wallet_address: String?
    var cpu_power: Double?
    var gpu_1_core_temp: Double?
    var gpu_1_mem_temp: Double?
    var gpu_1_hashrate_1: Double?
    var gpu_1_hashrate_2: Double?
    var gpu_1_core_clock: Double?
    var gpu_1_mem_clock: Double?
    var gpu_1_power: Double?
    var gpu_1_fan: Double?
    var gpu_2_core_temp: Double?
    var gpu_2_mem_temp: Double?
    var gpu_2_hashrate_1: Double?
    var gpu_2_hashrate_2: Double?
    var gpu_2_core_clock: Double?
    var gpu_2_mem_clock: Double?
    var gpu_2_power: Double?
    var gpu_2_fan: Double?
    var gpu_3_core_temp: Double?
    var gpu_3_mem_temp: Double?
    var gpu_3_hashrate_1: Double?
    var gpu_3_hashrate_2: Double?
    var gpu_3_core_clock: Double?
    var gpu_3_mem_clock: Double?
    var gpu_3_power: Double?
    var gpu_3_fan: Double?
    var gpu_4_core_temp: Double?
    var gpu_4_mem_temp: Double?
    var gpu_4_hashrate_1: Double?
    var gpu_4_hashrate_2: Double?
    var gpu_4_core_clock: Double?
    var gpu_4_mem_clock: Double?
    var gpu_4_power: Double?
    var gpu_4_fan: Double?
    var gpu_5_core_temp: Double?
    var gpu_5_mem_temp: Double?
    var gpu_5_hashrate_1: Double?
    var gpu_5_hashrate_2: Double?
    var gpu_5_core_clock: Double?
    var gpu_5_mem_clock: Double?
    var gpu_5_power: Double?
    var gpu_5_fan: Double?
    var gpu_6_core_temp: Double?
    var gpu_6_mem_temp: Double?
    var gpu_6_hashrate_1: Double?
    var gpu_6_hashrate_2: Double?
    var gpu_6_core_clock: Double?
    var gpu_6_mem_clock: Double?
    var gpu_6_power: Double?
    var gpu_6_fan: Double?
    var gpu_7_core_temp: Double?
    var gpu_7_mem_temp: Double?
    var gpu_7_hashrate_1: Double?
    var gpu_7_hashrate_2: Double?
    var gpu_7_core_clock: Double?
    var gpu_7_mem_clock: Double?
    var gpu_7_power: Double?
    var gpu_7_fan: Double?
    var gpu_8_core_temp: Double?
    var gpu_8_mem_temp: Double?
    var gpu_8_hashrate_1: Double?
    var gpu_8_hashrate_2: Double?
    var gpu_8_core_clock: Double?
    var gpu_8_mem_clock: Double?
    var gpu_8_power: Double?
    var gpu_8_fan: Double?
    var gpu_fan_uom: String?
    var gpu_algorithm_1: String?
    var gpu_hashrate_uom_1: String?
    var gpu_coin_name_1: String?
    var gpu_pool_address_1: String?
    var gpu_wallet_address_1: String?
    var gpu_algorithm_2: String?
    var gpu_hashrate_uom_2: String?
    var gpu_coin_name_2: String?
    var gpu_pool_address_2: String?
    var gpu_wallet_address_2: String?
    var lan_ip: String?
    var wan_ip: String?
    var uptime: String?
    var inserted_at: String?
}

extension CodableAsicMiner {
    init(_ miner: AsicMiner) {
        self.init(
            id: miner.id, name: miner.name, firmware_version: miner.firmwareVersion,
            software_version: miner.softwareVersion, model: miner.model, model_variant: miner.modelVariant,
            activated: miner.activated, asic_expected_status: miner.asicExpectedStatus,
            light_expected_status: miner.lightExpectedStatus, inserted_at: miner.insertedAt?.description,
            updated_at: miner.updatedAt?.description)
    }
}

extension CodableAsicMinerLog {
    init(_ log: AsicMinerLog) {
        let pools = log.pools, boards = log.hashboards, fans = log.fanSpeeds
        self.init(
            asic_miner_id: log.asicMinerId, hashrate_5_min: log.hashrate5Min, hashrate_30_min: log.hashrate30Min,
            hashrate_uom: log.hashrateUnit.symbol, pool_rejection_rate: log.poolRejectionRate, uptime: log.uptime,
            pool_1_address: pools[0].address, pool_1_user: pools[0].user, pool_1_state: pools[0].state,
            pool_1_accepted_share: pools[0].acceptedShare, pool_1_rejected_share: pools[0].rejectedShare,
            pool_2_address: pools[1].address, pool_2_user: pools[1].user, pool_2_state: pools[1].state,
            pool_2_accepted_share: pools[1].acceptedShare, pool_2_rejected_share: pools[1].rejectedShare,
            pool_3_address: pools[2].address, pool_3_user: pools[2].user, pool_3_state: pools[2].state,
            pool_3_accepted_share: pools[2].acceptedShare, pool_3_rejected_share: pools[2].rejectedShare,
            hashboard_1_hashrate_5_min: boards[0].hashrate5Min, hashboard_1_hashrate_30_min: boards[0].hashrate30Min,
            hashboard_1_temp_1: boards[0].temperature1, hashboard_1_temp_2: boards[0].temperature2,
            hashboard_2_hashrate_5_min: boards[1].hashrate5Min, hashboard_2_hashrate_30_min: boards[1].hashrate30Min,
            hashboard_2_temp_1: boards[1].temperature1, hashboard_2_temp_2: boards[1].temperature2,
            hashboard_3_hashrate_5_min: boards[2].hashrate5Min, hashboard_3_hashrate_30_min: boards[2].hashrate30Min,
            hashboard_3_temp_1: boards[2].temperature1, hashboard_3_temp_2: boards[2].temperature2,
            fan_1_speed: fans[0], fan_2_speed: fans[1], fan_3_speed: fans[2], fan_4_speed: fans[3],
            lan_ip: log.lanIp, wan_ip: log.wanIp, coin_name: log.coinName, power: log.power,
            inserted_at: log.insertedAt?.description)
    }
}
