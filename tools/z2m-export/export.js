#!/usr/bin/env node
// Export the whole zigbee-herdsman-converters device catalogue as a Zigbee2MQTT
// `bridge/devices` array, the test corpus of the dhome zigbee2mqtt adapter.
//
// Usage: node export.js OUT.json
//
// Each definition becomes one device entry shaped like what Zigbee2MQTT retains on
// `zigbee2mqtt/bridge/devices` (ieee_address, friendly_name, type, definition.exposes, ...).
// A definition's `exposes` may be a function of (device, options): it is evaluated the way
// the converters library evaluates it itself for documentation (a dummy device), then with
// a small fake device, then with `undefined`; a definition whose exposes cannot be evaluated
// at all is still exported (with an empty list) and counted on stderr, never silently lost.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const zhc = require("zigbee-herdsman-converters");

zhc.setLogger({debug() {}, info() {}, warning() {}, error() {}});

const version = require("zigbee-herdsman-converters/package.json").version;
const devicesDir = path.join(path.dirname(require.resolve("zigbee-herdsman-converters")), "devices");

// A minimal stand-in for a zigbee-herdsman Device: enough for exposes functions that look at
// endpoints, clusters or meta, with every lookup answering "not supported".
function fakeEndpoint(id) {
    return {
        ID: id,
        inputClusters: [],
        outputClusters: [],
        clusters: {},
        meta: {},
        getInputClusters: () => [],
        getOutputClusters: () => [],
        supportsInputCluster: () => false,
        supportsOutputCluster: () => false,
        getClusterAttributeValue: () => undefined,
    };
}

function fakeDevice(modelID) {
    const endpoints = [fakeEndpoint(1)];
    return {
        ieeeAddr: "0x0000000000000000",
        networkAddress: 0,
        modelID,
        manufacturerName: "",
        powerSource: "Mains (single phase)",
        type: "Router",
        isDeleted: false,
        meta: {},
        customClusters: {},
        endpoints,
        getEndpoint: (id) => endpoints.find((e) => e.ID === id) ?? fakeEndpoint(id),
    };
}

function evaluateExposes(definition) {
    const exposes = definition.exposes;
    if (Array.isArray(exposes)) return {exposes, evaluated: "array"};
    if (typeof exposes !== "function") return {exposes: [], evaluated: "missing"};
    const attempts = [
        ["dummy", {isDummyDevice: true}],
        ["fake", fakeDevice((definition.zigbeeModel ?? [definition.model])[0])],
        ["undefined", undefined],
    ];
    for (const [how, device] of attempts) {
        try {
            const result = exposes(device, {});
            if (Array.isArray(result)) return {exposes: result, evaluated: how};
        } catch {
            // try the next stand-in
        }
    }
    return {exposes: [], evaluated: "failed"};
}

function ieee(index) {
    return `0x${index.toString(16).padStart(16, "0")}`;
}

function main() {
    const out = process.argv[2];
    if (!out) {
        process.stderr.write("usage: node export.js OUT.json\n");
        process.exit(2);
    }
    // The coordinator is always the first entry of a real bridge/devices payload.
    const devices = [
        {
            ieee_address: ieee(0),
            friendly_name: "Coordinator",
            type: "Coordinator",
            network_address: 0,
            supported: true,
            disabled: false,
            interview_completed: true,
            interviewing: false,
            definition: null,
            endpoints: {},
        },
    ];
    const stats = {definitions: 0, array: 0, dummy: 0, fake: 0, undefined: 0, missing: 0, failed: 0};
    const names = new Set();
    for (const file of fs.readdirSync(devicesDir).filter((f) => f.endsWith(".js")).sort()) {
        const mod = require(path.join(devicesDir, file));
        for (const raw of mod.definitions ?? []) {
            let definition;
            try {
                definition = zhc.prepareDefinition(raw);
            } catch {
                definition = raw;
            }
            stats.definitions++;
            const {exposes, evaluated} = evaluateExposes(definition);
            stats[evaluated]++;
            let name = `${definition.vendor} ${definition.model}`;
            while (names.has(name)) name += "'";
            names.add(name);
            devices.push({
                ieee_address: ieee(stats.definitions),
                friendly_name: name,
                type: "EndDevice",
                network_address: stats.definitions,
                supported: true,
                disabled: false,
                interview_completed: true,
                interviewing: false,
                manufacturer: definition.vendor,
                model_id: (definition.zigbeeModel ?? [definition.model])[0],
                definition: {
                    model: definition.model,
                    vendor: definition.vendor,
                    description: definition.description,
                    supports_ota: Boolean(definition.ota),
                    exposes,
                    options: definition.options ?? [],
                },
                endpoints: {},
            });
        }
    }
    fs.writeFileSync(out, JSON.stringify(devices));
    process.stderr.write(`zigbee-herdsman-converters ${version}: ${JSON.stringify(stats)}\n`);
}

main();
