"""Matter cluster registry: ids, names and how the adapter treats each cluster.

Ids and names are the Matter specification's (Application Cluster Library and Core
spec, plus a few ZCL-era clusters older firmware still exposes); they were listed from
the CHIP SDK's generated cluster objects and are plain facts, not code.

Every cluster an endpoint reports falls in one of three kinds:

* ``INFRASTRUCTURE`` — commissioning, networking, diagnostics, labels, OTA, groups,
  access control … They describe how the node is run, not what it does for the home, so the
  mapping report counts them neither as features nor as unmapped.
* ``METADATA`` — Basic Information and Bridged Device Basic Information: they fill the
  DHI device description (vendor, product, firmware, serial), not a capability, and are
  not counted either.
* everything else is an application cluster: a feature that either maps to a DHI
  capability through a row in :mod:`adapters.matter.mapping` or is reported unmapped.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Kind(StrEnum):
    INFRASTRUCTURE = "infrastructure"
    METADATA = "metadata"
    APPLICATION = "application"


# Global attributes every cluster carries (Matter Core spec 7.13): never features.
GLOBAL_ATTRIBUTES: Final[dict[int, str]] = {
    0xFFF8: "GeneratedCommandList",
    0xFFF9: "AcceptedCommandList",
    0xFFFA: "EventList",
    0xFFFB: "AttributeList",
    0xFFFC: "FeatureMap",
    0xFFFD: "ClusterRevision",
}
FEATURE_MAP: Final = 0xFFFC
ATTRIBUTE_LIST: Final = 0xFFFB
ACCEPTED_COMMANDS: Final = 0xFFF9
EVENT_LIST: Final = 0xFFFA

# Cluster ids the adapter itself reads.
DESCRIPTOR: Final = 0x001D
BASIC_INFORMATION: Final = 0x0028
BRIDGED_DEVICE_BASIC_INFORMATION: Final = 0x0039

INFRASTRUCTURE_CLUSTERS: Final[frozenset[int]] = frozenset(
    {
        0x0004,  # Groups
        0x001D,  # Descriptor: read by the adapter to build components
        0x001E,  # Binding
        0x001F,  # Access Control
        0x0029,  # OTA Software Update Provider
        0x002A,  # OTA Software Update Requestor
        0x002B,  # Localization Configuration
        0x002C,  # Time Format Localization
        0x002D,  # Unit Localization
        0x002E,  # Power Source Configuration (only lists the Power Source endpoints)
        0x0030,  # General Commissioning
        0x0031,  # Network Commissioning
        0x0032,  # Diagnostic Logs
        0x0033,  # General Diagnostics
        0x0034,  # Software Diagnostics
        0x0035,  # Thread Network Diagnostics
        0x0036,  # Wi-Fi Network Diagnostics
        0x0037,  # Ethernet Network Diagnostics
        0x0038,  # Time Synchronization
        0x003C,  # Administrator Commissioning
        0x003E,  # Operational Credentials
        0x003F,  # Group Key Management
        0x0040,  # Fixed Label
        0x0041,  # User Label
        0x0042,  # Proxy Configuration
        0x0043,  # Proxy Discovery
        0x0044,  # Proxy Valid
        0x0046,  # ICD Management (sleepy-device check-in)
        0x0451,  # Wi-Fi Network Management
        0x0452,  # Thread Border Router Management
        0x0453,  # Thread Network Directory
        0x0751,  # Commissioner Control
        0x0752,  # Joint Fabric Datastore
        0x0753,  # Joint Fabric Administrator
        0x0801,  # TLS Certificate Management
        0x0802,  # TLS Client Management
    }
)
METADATA_CLUSTERS: Final[frozenset[int]] = frozenset({BASIC_INFORMATION, BRIDGED_DEVICE_BASIC_INFORMATION})

# Older names some dumps use (python-matter-server's pre-2023 cluster object names).
LEGACY_CLUSTER_NAMES: Final[dict[str, int]] = {
    "Basic": 0x0028,
    "BridgedDeviceBasic": 0x0039,
    "OtaSoftwareUpdateRequestor": 0x002A,
    "OtaSoftwareUpdateProvider": 0x0029,
}

CLUSTER_NAMES: Final[dict[int, str]] = {
    0x0003: "Identify",
    0x0004: "Groups",
    0x0005: "Scenes",
    0x0006: "OnOff",
    0x0007: "OnOffSwitchConfiguration",
    0x0008: "LevelControl",
    0x000F: "BinaryInputBasic",
    0x001C: "PulseWidthModulation",
    0x001D: "Descriptor",
    0x001E: "Binding",
    0x001F: "AccessControl",
    0x0025: "Actions",
    0x0028: "BasicInformation",
    0x0029: "OtaSoftwareUpdateProvider",
    0x002A: "OtaSoftwareUpdateRequestor",
    0x002B: "LocalizationConfiguration",
    0x002C: "TimeFormatLocalization",
    0x002D: "UnitLocalization",
    0x002E: "PowerSourceConfiguration",
    0x002F: "PowerSource",
    0x0030: "GeneralCommissioning",
    0x0031: "NetworkCommissioning",
    0x0032: "DiagnosticLogs",
    0x0033: "GeneralDiagnostics",
    0x0034: "SoftwareDiagnostics",
    0x0035: "ThreadNetworkDiagnostics",
    0x0036: "WiFiNetworkDiagnostics",
    0x0037: "EthernetNetworkDiagnostics",
    0x0038: "TimeSynchronization",
    0x0039: "BridgedDeviceBasicInformation",
    0x003B: "Switch",
    0x003C: "AdministratorCommissioning",
    0x003E: "OperationalCredentials",
    0x003F: "GroupKeyManagement",
    0x0040: "FixedLabel",
    0x0041: "UserLabel",
    0x0042: "ProxyConfiguration",
    0x0043: "ProxyDiscovery",
    0x0044: "ProxyValid",
    0x0045: "BooleanState",
    0x0046: "IcdManagement",
    0x0047: "Timer",
    0x0048: "OvenCavityOperationalState",
    0x0049: "OvenMode",
    0x004A: "LaundryDryerControls",
    0x0050: "ModeSelect",
    0x0051: "LaundryWasherMode",
    0x0052: "RefrigeratorAndTemperatureControlledCabinetMode",
    0x0053: "LaundryWasherControls",
    0x0054: "RvcRunMode",
    0x0055: "RvcCleanMode",
    0x0056: "TemperatureControl",
    0x0057: "RefrigeratorAlarm",
    0x0059: "DishwasherMode",
    0x005B: "AirQuality",
    0x005C: "SmokeCoAlarm",
    0x005D: "DishwasherAlarm",
    0x005E: "MicrowaveOvenMode",
    0x005F: "MicrowaveOvenControl",
    0x0060: "OperationalState",
    0x0061: "RvcOperationalState",
    0x0062: "ScenesManagement",
    0x0071: "HepaFilterMonitoring",
    0x0072: "ActivatedCarbonFilterMonitoring",
    0x0080: "BooleanStateConfiguration",
    0x0081: "ValveConfigurationAndControl",
    0x0090: "ElectricalPowerMeasurement",
    0x0091: "ElectricalEnergyMeasurement",
    0x0094: "WaterHeaterManagement",
    0x0095: "CommodityPrice",
    0x0097: "Messages",
    0x0098: "DeviceEnergyManagement",
    0x0099: "EnergyEvse",
    0x009B: "EnergyPreference",
    0x009C: "PowerTopology",
    0x009D: "EnergyEvseMode",
    0x009E: "WaterHeaterMode",
    0x009F: "DeviceEnergyManagementMode",
    0x00A0: "ElectricalGridConditions",
    0x0101: "DoorLock",
    0x0102: "WindowCovering",
    0x0103: "BarrierControl",
    0x0104: "ClosureControl",
    0x0105: "ClosureDimension",
    0x0150: "ServiceArea",
    0x0200: "PumpConfigurationAndControl",
    0x0201: "Thermostat",
    0x0202: "FanControl",
    0x0204: "ThermostatUserInterfaceConfiguration",
    0x0300: "ColorControl",
    0x0301: "BallastConfiguration",
    0x0400: "IlluminanceMeasurement",
    0x0402: "TemperatureMeasurement",
    0x0403: "PressureMeasurement",
    0x0404: "FlowMeasurement",
    0x0405: "RelativeHumidityMeasurement",
    0x0406: "OccupancySensing",
    0x040C: "CarbonMonoxideConcentrationMeasurement",
    0x040D: "CarbonDioxideConcentrationMeasurement",
    0x0413: "NitrogenDioxideConcentrationMeasurement",
    0x0415: "OzoneConcentrationMeasurement",
    0x042A: "Pm25ConcentrationMeasurement",
    0x042B: "FormaldehydeConcentrationMeasurement",
    0x042C: "Pm1ConcentrationMeasurement",
    0x042D: "Pm10ConcentrationMeasurement",
    0x042E: "TotalVolatileOrganicCompoundsConcentrationMeasurement",
    0x042F: "RadonConcentrationMeasurement",
    0x0430: "SoilMeasurement",
    0x0451: "WiFiNetworkManagement",
    0x0452: "ThreadBorderRouterManagement",
    0x0453: "ThreadNetworkDirectory",
    0x0503: "WakeOnLan",
    0x0504: "Channel",
    0x0505: "TargetNavigator",
    0x0506: "MediaPlayback",
    0x0507: "MediaInput",
    0x0508: "LowPower",
    0x0509: "KeypadInput",
    0x050A: "ContentLauncher",
    0x050B: "AudioOutput",
    0x050C: "ApplicationLauncher",
    0x050D: "ApplicationBasic",
    0x050E: "AccountLogin",
    0x050F: "ContentControl",
    0x0510: "ContentAppObserver",
    0x0550: "ZoneManagement",
    0x0551: "CameraAvStreamManagement",
    0x0552: "CameraAvSettingsUserLevelManagement",
    0x0553: "WebRTCTransportProvider",
    0x0554: "WebRTCTransportRequestor",
    0x0555: "PushAvStreamTransport",
    0x0556: "Chime",
    0x0700: "CommodityTariff",
    0x0750: "EcosystemInformation",
    0x0751: "CommissionerControl",
    0x0752: "JointFabricDatastore",
    0x0753: "JointFabricAdministrator",
    0x0801: "TlsCertificateManagement",
    0x0802: "TlsClientManagement",
    0x0B04: "ElectricalMeasurement",
    0x0B05: "Diagnostics",
    0x0B06: "MeterIdentification",
    0x0B07: "CommodityMetering",
    0xFFF1FC05: "UnitTesting",
    0xFFF1FC06: "FaultInjection",
    0xFFF1FC20: "SampleMei",
}
ATTRIBUTE_NAMES: Final[dict[int, dict[int, str]]] = {
    # clusters the current CHIP SDK dropped (datamodel.json has the others)
    0x0005: {0: "SceneCount", 1: "CurrentScene", 2: "CurrentGroup", 3: "SceneValid", 4: "NameSupport"},
    0x0007: {0: "SwitchType", 16: "SwitchActions"},
    0x0006: {
        0: "OnOff",
        16384: "GlobalSceneControl",
        16385: "OnTime",
        16386: "OffWaitTime",
        16387: "StartUpOnOff",
    },
    0x0008: {
        0: "CurrentLevel",
        1: "RemainingTime",
        2: "MinLevel",
        3: "MaxLevel",
        4: "CurrentFrequency",
        5: "MinFrequency",
        6: "MaxFrequency",
        15: "Options",
        16: "OnOffTransitionTime",
        17: "OnLevel",
        18: "OnTransitionTime",
        19: "OffTransitionTime",
        20: "DefaultMoveRate",
        16384: "StartUpCurrentLevel",
    },
    0x001D: {
        0: "DeviceTypeList",
        1: "ServerList",
        2: "ClientList",
        3: "PartsList",
        4: "TagList",
        5: "EndpointUniqueID",
    },
    0x0028: {
        0: "DataModelRevision",
        1: "VendorName",
        2: "VendorID",
        3: "ProductName",
        4: "ProductID",
        5: "NodeLabel",
        6: "Location",
        7: "HardwareVersion",
        8: "HardwareVersionString",
        9: "SoftwareVersion",
        10: "SoftwareVersionString",
        11: "ManufacturingDate",
        12: "PartNumber",
        13: "ProductURL",
        14: "ProductLabel",
        15: "SerialNumber",
        16: "LocalConfigDisabled",
        17: "Reachable",
        18: "UniqueID",
        19: "CapabilityMinima",
        20: "ProductAppearance",
        21: "SpecificationVersion",
        22: "MaxPathsPerInvoke",
        24: "ConfigurationVersion",
    },
    0x002F: {
        0: "Status",
        1: "Order",
        2: "Description",
        3: "WiredAssessedInputVoltage",
        4: "WiredAssessedInputFrequency",
        5: "WiredCurrentType",
        6: "WiredAssessedCurrent",
        7: "WiredNominalVoltage",
        8: "WiredMaximumCurrent",
        9: "WiredPresent",
        10: "ActiveWiredFaults",
        11: "BatVoltage",
        12: "BatPercentRemaining",
        13: "BatTimeRemaining",
        14: "BatChargeLevel",
        15: "BatReplacementNeeded",
        16: "BatReplaceability",
        17: "BatPresent",
        18: "ActiveBatFaults",
        19: "BatReplacementDescription",
        20: "BatCommonDesignation",
        21: "BatANSIDesignation",
        22: "BatIECDesignation",
        23: "BatApprovedChemistry",
        24: "BatCapacity",
        25: "BatQuantity",
        26: "BatChargeState",
        27: "BatTimeToFullCharge",
        28: "BatFunctionalWhileCharging",
        29: "BatChargingCurrent",
        30: "ActiveBatChargeFaults",
        31: "EndpointList",
    },
    0x0039: {
        1: "VendorName",
        2: "VendorID",
        3: "ProductName",
        4: "ProductID",
        5: "NodeLabel",
        7: "HardwareVersion",
        8: "HardwareVersionString",
        9: "SoftwareVersion",
        10: "SoftwareVersionString",
        11: "ManufacturingDate",
        12: "PartNumber",
        13: "ProductURL",
        14: "ProductLabel",
        15: "SerialNumber",
        17: "Reachable",
        18: "UniqueID",
        20: "ProductAppearance",
        24: "ConfigurationVersion",
    },
    0x003B: {0: "NumberOfPositions", 1: "CurrentPosition", 2: "MultiPressMax"},
    0x0045: {0: "StateValue"},
    0x005B: {0: "AirQuality"},
    0x005C: {
        0: "ExpressedState",
        1: "SmokeState",
        2: "COState",
        3: "BatteryAlert",
        4: "DeviceMuted",
        5: "TestInProgress",
        6: "HardwareFaultAlert",
        7: "EndOfServiceAlert",
        8: "InterconnectSmokeAlarm",
        9: "InterconnectCOAlarm",
        10: "ContaminationState",
        11: "SmokeSensitivityLevel",
        12: "ExpiryDate",
    },
    0x0080: {
        0: "CurrentSensitivityLevel",
        1: "SupportedSensitivityLevels",
        2: "DefaultSensitivityLevel",
        3: "AlarmsActive",
        4: "AlarmsSuppressed",
        5: "AlarmsEnabled",
        6: "AlarmsSupported",
        7: "SensorFault",
    },
    0x0081: {
        0: "OpenDuration",
        1: "DefaultOpenDuration",
        2: "AutoCloseTime",
        3: "RemainingDuration",
        4: "CurrentState",
        5: "TargetState",
        6: "CurrentLevel",
        7: "TargetLevel",
        8: "DefaultOpenLevel",
        9: "ValveFault",
        10: "LevelStep",
    },
    0x0090: {
        0: "PowerMode",
        1: "NumberOfMeasurementTypes",
        2: "Accuracy",
        3: "Ranges",
        4: "Voltage",
        5: "ActiveCurrent",
        6: "ReactiveCurrent",
        7: "ApparentCurrent",
        8: "ActivePower",
        9: "ReactivePower",
        10: "ApparentPower",
        11: "RMSVoltage",
        12: "RMSCurrent",
        13: "RMSPower",
        14: "Frequency",
        15: "HarmonicCurrents",
        16: "HarmonicPhases",
        17: "PowerFactor",
        18: "NeutralCurrent",
    },
    0x0091: {
        0: "Accuracy",
        1: "CumulativeEnergyImported",
        2: "CumulativeEnergyExported",
        3: "PeriodicEnergyImported",
        4: "PeriodicEnergyExported",
        5: "CumulativeEnergyReset",
    },
    0x0101: {
        0: "LockState",
        1: "LockType",
        2: "ActuatorEnabled",
        3: "DoorState",
        4: "DoorOpenEvents",
        5: "DoorClosedEvents",
        6: "OpenPeriod",
        17: "NumberOfTotalUsersSupported",
        18: "NumberOfPINUsersSupported",
        19: "NumberOfRFIDUsersSupported",
        20: "NumberOfWeekDaySchedulesSupportedPerUser",
        21: "NumberOfYearDaySchedulesSupportedPerUser",
        22: "NumberOfHolidaySchedulesSupported",
        23: "MaxPINCodeLength",
        24: "MinPINCodeLength",
        25: "MaxRFIDCodeLength",
        26: "MinRFIDCodeLength",
        27: "CredentialRulesSupport",
        28: "NumberOfCredentialsSupportedPerUser",
        33: "Language",
        34: "LEDSettings",
        35: "AutoRelockTime",
        36: "SoundVolume",
        37: "OperatingMode",
        38: "SupportedOperatingModes",
        39: "DefaultConfigurationRegister",
        40: "EnableLocalProgramming",
        41: "EnableOneTouchLocking",
        42: "EnableInsideStatusLED",
        43: "EnablePrivacyModeButton",
        44: "LocalProgrammingFeatures",
        48: "WrongCodeEntryLimit",
        49: "UserCodeTemporaryDisableTime",
        50: "SendPINOverTheAir",
        51: "RequirePINforRemoteOperation",
        53: "ExpiringUserTimeout",
        128: "AliroReaderVerificationKey",
        129: "AliroReaderGroupIdentifier",
        130: "AliroReaderGroupSubIdentifier",
        131: "AliroExpeditedTransactionSupportedProtocolVersions",
        132: "AliroGroupResolvingKey",
        133: "AliroSupportedBLEUWBProtocolVersions",
        134: "AliroBLEAdvertisingVersion",
        135: "NumberOfAliroCredentialIssuerKeysSupported",
        136: "NumberOfAliroEndpointKeysSupported",
    },
    0x0102: {
        0: "Type",
        1: "PhysicalClosedLimitLift",
        2: "PhysicalClosedLimitTilt",
        3: "CurrentPositionLift",
        4: "CurrentPositionTilt",
        5: "NumberOfActuationsLift",
        6: "NumberOfActuationsTilt",
        7: "ConfigStatus",
        8: "CurrentPositionLiftPercentage",
        9: "CurrentPositionTiltPercentage",
        10: "OperationalStatus",
        11: "TargetPositionLiftPercent100ths",
        12: "TargetPositionTiltPercent100ths",
        13: "EndProductType",
        14: "CurrentPositionLiftPercent100ths",
        15: "CurrentPositionTiltPercent100ths",
        16: "InstalledOpenLimitLift",
        17: "InstalledClosedLimitLift",
        18: "InstalledOpenLimitTilt",
        19: "InstalledClosedLimitTilt",
        23: "Mode",
        26: "SafetyStatus",
    },
    0x0201: {
        0: "LocalTemperature",
        1: "OutdoorTemperature",
        2: "Occupancy",
        3: "AbsMinHeatSetpointLimit",
        4: "AbsMaxHeatSetpointLimit",
        5: "AbsMinCoolSetpointLimit",
        6: "AbsMaxCoolSetpointLimit",
        7: "PICoolingDemand",
        8: "PIHeatingDemand",
        9: "HVACSystemTypeConfiguration",
        16: "LocalTemperatureCalibration",
        17: "OccupiedCoolingSetpoint",
        18: "OccupiedHeatingSetpoint",
        19: "UnoccupiedCoolingSetpoint",
        20: "UnoccupiedHeatingSetpoint",
        21: "MinHeatSetpointLimit",
        22: "MaxHeatSetpointLimit",
        23: "MinCoolSetpointLimit",
        24: "MaxCoolSetpointLimit",
        25: "MinSetpointDeadBand",
        26: "RemoteSensing",
        27: "ControlSequenceOfOperation",
        28: "SystemMode",
        30: "ThermostatRunningMode",
        32: "StartOfWeek",
        33: "NumberOfWeeklyTransitions",
        34: "NumberOfDailyTransitions",
        35: "TemperatureSetpointHold",
        36: "TemperatureSetpointHoldDuration",
        37: "ThermostatProgrammingOperationMode",
        41: "ThermostatRunningState",
        48: "SetpointChangeSource",
        49: "SetpointChangeAmount",
        50: "SetpointChangeSourceTimestamp",
        52: "OccupiedSetback",
        53: "OccupiedSetbackMin",
        54: "OccupiedSetbackMax",
        55: "UnoccupiedSetback",
        56: "UnoccupiedSetbackMin",
        57: "UnoccupiedSetbackMax",
        58: "EmergencyHeatDelta",
        64: "ACType",
        65: "ACCapacity",
        66: "ACRefrigerantType",
        67: "ACCompressorType",
        68: "ACErrorCode",
        69: "ACLouverPosition",
        70: "ACCoilTemperature",
        71: "ACCapacityformat",
        72: "PresetTypes",
        73: "ScheduleTypes",
        74: "NumberOfPresets",
        75: "NumberOfSchedules",
        76: "NumberOfScheduleTransitions",
        77: "NumberOfScheduleTransitionPerDay",
        78: "ActivePresetHandle",
        79: "ActiveScheduleHandle",
        80: "Presets",
        81: "Schedules",
        82: "SetpointHoldExpiryTimestamp",
    },
    0x0202: {
        0: "FanMode",
        1: "FanModeSequence",
        2: "PercentSetting",
        3: "PercentCurrent",
        4: "SpeedMax",
        5: "SpeedSetting",
        6: "SpeedCurrent",
        7: "RockSupport",
        8: "RockSetting",
        9: "WindSupport",
        10: "WindSetting",
        11: "AirflowDirection",
    },
    0x0300: {
        0: "CurrentHue",
        1: "CurrentSaturation",
        2: "RemainingTime",
        3: "CurrentX",
        4: "CurrentY",
        5: "DriftCompensation",
        6: "CompensationText",
        7: "ColorTemperatureMireds",
        8: "ColorMode",
        15: "Options",
        16: "NumberOfPrimaries",
        17: "Primary1X",
        18: "Primary1Y",
        19: "Primary1Intensity",
        21: "Primary2X",
        22: "Primary2Y",
        23: "Primary2Intensity",
        25: "Primary3X",
        26: "Primary3Y",
        27: "Primary3Intensity",
        32: "Primary4X",
        33: "Primary4Y",
        34: "Primary4Intensity",
        36: "Primary5X",
        37: "Primary5Y",
        38: "Primary5Intensity",
        40: "Primary6X",
        41: "Primary6Y",
        42: "Primary6Intensity",
        48: "WhitePointX",
        49: "WhitePointY",
        50: "ColorPointRX",
        51: "ColorPointRY",
        52: "ColorPointRIntensity",
        54: "ColorPointGX",
        55: "ColorPointGY",
        56: "ColorPointGIntensity",
        58: "ColorPointBX",
        59: "ColorPointBY",
        60: "ColorPointBIntensity",
        16384: "EnhancedCurrentHue",
        16385: "EnhancedColorMode",
        16386: "ColorLoopActive",
        16387: "ColorLoopDirection",
        16388: "ColorLoopTime",
        16389: "ColorLoopStartEnhancedHue",
        16390: "ColorLoopStoredEnhancedHue",
        16394: "ColorCapabilities",
        16395: "ColorTempPhysicalMinMireds",
        16396: "ColorTempPhysicalMaxMireds",
        16397: "CoupleColorTempToLevelMinMireds",
        16400: "StartUpColorTemperatureMireds",
    },
    0x0400: {
        0: "MeasuredValue",
        1: "MinMeasuredValue",
        2: "MaxMeasuredValue",
        3: "Tolerance",
        4: "LightSensorType",
    },
    0x0402: {0: "MeasuredValue", 1: "MinMeasuredValue", 2: "MaxMeasuredValue", 3: "Tolerance"},
    0x0403: {
        0: "MeasuredValue",
        1: "MinMeasuredValue",
        2: "MaxMeasuredValue",
        3: "Tolerance",
        16: "ScaledValue",
        17: "MinScaledValue",
        18: "MaxScaledValue",
        19: "ScaledTolerance",
        20: "Scale",
    },
    0x0404: {0: "MeasuredValue", 1: "MinMeasuredValue", 2: "MaxMeasuredValue", 3: "Tolerance"},
    0x0405: {0: "MeasuredValue", 1: "MinMeasuredValue", 2: "MaxMeasuredValue", 3: "Tolerance"},
    0x0406: {
        0: "Occupancy",
        1: "OccupancySensorType",
        2: "OccupancySensorTypeBitmap",
        3: "HoldTime",
        4: "HoldTimeLimits",
        16: "PIROccupiedToUnoccupiedDelay",
        17: "PIRUnoccupiedToOccupiedDelay",
        18: "PIRUnoccupiedToOccupiedThreshold",
        32: "UltrasonicOccupiedToUnoccupiedDelay",
        33: "UltrasonicUnoccupiedToOccupiedDelay",
        34: "UltrasonicUnoccupiedToOccupiedThreshold",
        48: "PhysicalContactOccupiedToUnoccupiedDelay",
        49: "PhysicalContactUnoccupiedToOccupiedDelay",
        50: "PhysicalContactUnoccupiedToOccupiedThreshold",
    },
    0x040C: {
        0: "MeasuredValue",
        1: "MinMeasuredValue",
        2: "MaxMeasuredValue",
        3: "PeakMeasuredValue",
        4: "PeakMeasuredValueWindow",
        5: "AverageMeasuredValue",
        6: "AverageMeasuredValueWindow",
        7: "Uncertainty",
        8: "MeasurementUnit",
        9: "MeasurementMedium",
        10: "LevelValue",
    },
    0x040D: {
        0: "MeasuredValue",
        1: "MinMeasuredValue",
        2: "MaxMeasuredValue",
        3: "PeakMeasuredValue",
        4: "PeakMeasuredValueWindow",
        5: "AverageMeasuredValue",
        6: "AverageMeasuredValueWindow",
        7: "Uncertainty",
        8: "MeasurementUnit",
        9: "MeasurementMedium",
        10: "LevelValue",
    },
    0x0413: {
        0: "MeasuredValue",
        1: "MinMeasuredValue",
        2: "MaxMeasuredValue",
        3: "PeakMeasuredValue",
        4: "PeakMeasuredValueWindow",
        5: "AverageMeasuredValue",
        6: "AverageMeasuredValueWindow",
        7: "Uncertainty",
        8: "MeasurementUnit",
        9: "MeasurementMedium",
        10: "LevelValue",
    },
    0x0415: {
        0: "MeasuredValue",
        1: "MinMeasuredValue",
        2: "MaxMeasuredValue",
        3: "PeakMeasuredValue",
        4: "PeakMeasuredValueWindow",
        5: "AverageMeasuredValue",
        6: "AverageMeasuredValueWindow",
        7: "Uncertainty",
        8: "MeasurementUnit",
        9: "MeasurementMedium",
        10: "LevelValue",
    },
    0x042A: {
        0: "MeasuredValue",
        1: "MinMeasuredValue",
        2: "MaxMeasuredValue",
        3: "PeakMeasuredValue",
        4: "PeakMeasuredValueWindow",
        5: "AverageMeasuredValue",
        6: "AverageMeasuredValueWindow",
        7: "Uncertainty",
        8: "MeasurementUnit",
        9: "MeasurementMedium",
        10: "LevelValue",
    },
    0x042B: {
        0: "MeasuredValue",
        1: "MinMeasuredValue",
        2: "MaxMeasuredValue",
        3: "PeakMeasuredValue",
        4: "PeakMeasuredValueWindow",
        5: "AverageMeasuredValue",
        6: "AverageMeasuredValueWindow",
        7: "Uncertainty",
        8: "MeasurementUnit",
        9: "MeasurementMedium",
        10: "LevelValue",
    },
    0x042C: {
        0: "MeasuredValue",
        1: "MinMeasuredValue",
        2: "MaxMeasuredValue",
        3: "PeakMeasuredValue",
        4: "PeakMeasuredValueWindow",
        5: "AverageMeasuredValue",
        6: "AverageMeasuredValueWindow",
        7: "Uncertainty",
        8: "MeasurementUnit",
        9: "MeasurementMedium",
        10: "LevelValue",
    },
    0x042D: {
        0: "MeasuredValue",
        1: "MinMeasuredValue",
        2: "MaxMeasuredValue",
        3: "PeakMeasuredValue",
        4: "PeakMeasuredValueWindow",
        5: "AverageMeasuredValue",
        6: "AverageMeasuredValueWindow",
        7: "Uncertainty",
        8: "MeasurementUnit",
        9: "MeasurementMedium",
        10: "LevelValue",
    },
    0x042E: {
        0: "MeasuredValue",
        1: "MinMeasuredValue",
        2: "MaxMeasuredValue",
        3: "PeakMeasuredValue",
        4: "PeakMeasuredValueWindow",
        5: "AverageMeasuredValue",
        6: "AverageMeasuredValueWindow",
        7: "Uncertainty",
        8: "MeasurementUnit",
        9: "MeasurementMedium",
        10: "LevelValue",
    },
    0x042F: {
        0: "MeasuredValue",
        1: "MinMeasuredValue",
        2: "MaxMeasuredValue",
        3: "PeakMeasuredValue",
        4: "PeakMeasuredValueWindow",
        5: "AverageMeasuredValue",
        6: "AverageMeasuredValueWindow",
        7: "Uncertainty",
        8: "MeasurementUnit",
        9: "MeasurementMedium",
        10: "LevelValue",
    },
}


def kind(cluster: int) -> Kind:
    if cluster in INFRASTRUCTURE_CLUSTERS:
        return Kind.INFRASTRUCTURE
    if cluster in METADATA_CLUSTERS:
        return Kind.METADATA
    return Kind.APPLICATION


def is_vendor_specific(cluster: int) -> bool:
    """Manufacturer-specific clusters carry the vendor id in the upper 16 bits (Core spec 7.19)."""
    return cluster > 0xFFFF and (cluster & 0xFFFF) >= 0xFC00


def cluster_name(cluster: int) -> str:
    name = CLUSTER_NAMES.get(cluster)
    if name is not None:
        return name
    if is_vendor_specific(cluster):
        return f"vendor 0x{cluster >> 16:04X} cluster 0x{cluster & 0xFFFF:04X}"
    return f"unknown cluster 0x{cluster:04X}"


def attribute_name(cluster: int, attribute: int) -> str:
    if attribute in GLOBAL_ATTRIBUTES:
        return GLOBAL_ATTRIBUTES[attribute]
    return ATTRIBUTE_NAMES.get(cluster, {}).get(attribute, f"attribute 0x{attribute:04X}")


def describe_cluster(cluster: int) -> str:
    """``OnOff (0x0006)`` — how reports and log lines name a cluster."""
    width = 8 if cluster > 0xFFFF else 4
    return f"{cluster_name(cluster)} (0x{cluster:0{width}X})"


def _by_lower_name() -> dict[str, int]:
    out = {name.lower(): cid for cid, name in CLUSTER_NAMES.items()}
    out.update({name.lower(): cid for name, cid in LEGACY_CLUSTER_NAMES.items()})
    return out


_CLUSTER_BY_NAME: Final = _by_lower_name()
_ATTRIBUTE_BY_NAME: Final = {
    cid: {name.lower(): aid for aid, name in (attrs | GLOBAL_ATTRIBUTES).items()}
    for cid, attrs in ATTRIBUTE_NAMES.items()
}
_GLOBAL_BY_NAME: Final = {name.lower(): aid for aid, name in GLOBAL_ATTRIBUTES.items()}


def cluster_id_by_name(name: str) -> int | None:
    return _CLUSTER_BY_NAME.get(name.lower())


def attribute_id_by_name(cluster: int, name: str) -> int | None:
    """Case-insensitive: legacy dumps spell attributes in camelCase (``vendorID``)."""
    table = _ATTRIBUTE_BY_NAME.get(cluster, _GLOBAL_BY_NAME)
    return table.get(name.lower())
