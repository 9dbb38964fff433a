@problemName TargetToy
@timeStamps false
@univariate true
@equalLength true
@seriesLength 2
@targetLabel true
@data
1,2:0.5
3,4:-1.25
