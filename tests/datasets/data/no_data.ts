# headers but no @data line
@problemName NoData
@classLabel true a b
